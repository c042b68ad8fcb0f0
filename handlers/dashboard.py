"""The overview (`dashboard`, and the Slack App Home): what waits for whoever asks, by their roles.

Deciders see the questions awaiting an answer, the removal requests to decide and the removals not yet
confirmed; whoever must remove something sees its notice; report handlers see their open cases by code,
state and age (a headteacher never sees cases about them). Everyone sees their own requests. Each item
is a card with the buttons to act on it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from handlers import actions, case_handling
from handlers import decision_texts as texts
from handlers.ask_headteacher import Question, decision_label, question_card
from handlers.deciders import when
from handlers.flow import FlowContext, day_label
from handlers.messages import Button, ConversationRef, Fact, IncomingMessage, Reply
from handlers.removal import Removal, notice_card, request_card, state_of
from storage import repository as repo

# Items of one kind shown at once; the rest are counted.
LIMIT = 10


async def overview(*, context: FlowContext, person: ConversationRef) -> list[Reply]:
    session, names = context.session, context.names
    held = await repo.roles_of(session=session, platform=person.platform, user_id=person.user_id)
    decider = any(role in held for role in repo.DECIDER_ROLES)
    items: list[Reply] = []
    counts = {"questions": 0, "requests": 0, "notices": 0, "cases": 0}
    more: list[int] = []

    def add(cards: list[Reply], total: int, key: str) -> None:
        counts[key] += total
        items.extend(cards)
        if total > len(cards):
            more.append(total - len(cards))

    if decider:
        questions = await repo.list_open_escalations(session=session, limit=LIMIT)
        add([question_card(Question.from_escalation(e), names=names) for e in questions],
            await repo.count_open_escalations(session=session), "questions")
        pending = await repo.list_removal_requests(session=session, statuses=["pending"], limit=LIMIT)
        add([request_card(Removal.from_request(r, names=names), names=names) for r in pending],
            await repo.count_removal_requests(session=session, statuses=["pending"]), "requests")
        approved = await repo.list_removal_requests(session=session, statuses=["approved"], limit=LIMIT)
        add([notice_card(Removal.from_request(r, names=names), names=names, overdue=r.overdue_reminded) for r in approved],
            await repo.count_removal_requests(session=session, statuses=["approved"]), "notices")
    else:
        notices = await repo.list_removal_notices_for(session=session, platform=person.platform, user_id=person.user_id,
                                                      roles=held, limit=LIMIT)
        add([notice_card(Removal.from_request(r, names=names), names=names, overdue=r.overdue_reminded) for r in notices],
            len(notices), "notices")
    case_roles = held & set(repo.REPORT_ROLES)
    if case_roles:
        cases = await repo.list_open_cases(session=session, roles=case_roles, limit=LIMIT)
        add([_case_item(case, names=names) for case in cases], await repo.count_open_cases(session=session, roles=case_roles), "cases")

    waiting = " · ".join(texts.DASHBOARD_COUNTS[key][n > 1].format(count=n) for key, n in counts.items() if n)
    header_text = waiting or (texts.DASHBOARD_EMPTY if held else texts.DASHBOARD_COUNTS_STAFF)
    header = Reply(text=header_text, title=texts.DASHBOARD_TITLE, icon="📋", private=True)
    tail = [Reply(text=texts.DASHBOARD_MORE.format(count=sum(more)), private=True)] if more else []
    return [header, *[_private(item) for item in items], *tail, await _own_requests(context, person)]


def _private(reply: Reply) -> Reply:
    return replace(reply, private=True, notification_text="")


def _case_item(case, *, names) -> Reply:
    label = case_handling.KIND_LABELS.get(case.kind, case_handling.KIND_LABELS["other"])
    days = (datetime.now(UTC).date() - case.opened_on).days
    return Reply(
        text=texts.CASE_ITEM_AGE.format(opened=day_label(case.opened_on), age=texts.AGES[min(days, 2)].format(days=days)),
        title=texts.CASE_ITEM_TITLE.format(code=case.code, kind=label),
        icon="🚨" if case.urgent else "🛡️",
        facts=(Fact(texts.FACT_STATE, case_handling.state_label(case)),),
        buttons=case_handling.case_buttons(case.code, case.status),
        private=True,
    )


async def _own_requests(context: FlowContext, person: ConversationRef) -> Reply:
    session, names = context.session, context.names
    questions = await repo.list_escalations_by_requester(session=session, platform=person.platform, user_id=person.user_id, limit=LIMIT)
    removals = await repo.list_removals_by_requester(session=session, platform=person.platform, user_id=person.user_id, limit=LIMIT)
    lines = []
    for escalation in questions:
        state = decision_label(escalation.topic, escalation.decision) if escalation.decision else texts.WAITING
        lines.append(texts.YOUR_QUESTION_LINE.format(
            when=when(names, escalation.created_at), question=_short(escalation.question), state=state))
    for request in removals:
        lines.append(texts.YOUR_REMOVAL_LINE.format(
            when=when(names, request.created_at), what=_short(request.description),
            state=state_of(Removal.from_request(request, names=names), names=names)))
    return Reply(
        text="\n".join(lines) or texts.YOUR_REQUESTS_EMPTY.format(headteacher=names.headteacher),
        title=texts.YOUR_REQUESTS_TITLE,
        icon="🗂️",
        buttons=(Button(label=texts.REMOVAL_BUTTON, action_id=actions.REMOVAL_START, value="{}"),),
        private=True,
    )


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


async def show(*, context: FlowContext, message: IncomingMessage) -> list[Reply]:
    return await overview(context=context, person=message.conversation)


ACTIONS = {actions.DASHBOARD: show}
