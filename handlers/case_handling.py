"""Handling a report: the card its recipient gets (the headteacher, the chair of governors when the report
concerns the headteacher, the safeguarding lead for a pupil's safety), and its buttons: Acknowledge,
Reply to reporter, Close, Read in full. The card is redrawn after each action to show the case's state.

Only the roles a case was sent to may act on it, and a headteacher never on a case that concerns them:
each click is checked against the stored roles, whatever its button value says.
"""

from __future__ import annotations

import json

from handlers import actions
from handlers import report_texts as texts
from handlers.flow import FlowContext, RoleNames, day_label as _day
from handlers.messages import Button, Fact, Form, FormField, IncomingMessage, Reply
from handlers.splitting import split_text
from storage import repository as repo
from storage.errors import CaseClosed, TextTooLong
from storage.repository.cases import summary_of

KIND_LABELS = dict(texts.KINDS)
# One message of a report read in full: under every platform's limit for a message's text.
READ_CHUNK_CHARS = 2800


def _value(code: str) -> str:
    return json.dumps({"case": code})


def case_buttons(code: str, status: str) -> tuple[Button, ...]:
    read = Button(label=texts.READ_BUTTON, action_id=actions.CASE_READ, value=_value(code))
    if status == repo.CLOSED:
        return (read,)
    acknowledge = () if status == repo.ACKNOWLEDGED else (
        Button(label=texts.ACKNOWLEDGE_BUTTON, action_id=actions.CASE_ACKNOWLEDGE, value=_value(code), style="primary"),
    )
    return (
        *acknowledge,
        Button(label=texts.REPLY_BUTTON, action_id=actions.CASE_REPLY, value=_value(code)),
        Button(label=texts.CLOSE_BUTTON, action_id=actions.CASE_CLOSE, value=_value(code), style="danger"),
        read,
    )


def case_card(*, code: str, kind: str, urgent: bool, safeguarding: bool, summary: str, reporter_name: str | None,
              status: str, state: str, names: RoleNames, replaces_message_id: str | None = None) -> Reply:
    label = KIND_LABELS.get(kind, KIND_LABELS["other"])
    lines = []
    if urgent:
        lines.append(texts.CASE_URGENT_LINE)
    if safeguarding:
        lines.append(texts.CASE_SAFEGUARDING_LINE.format(dsl=names.dsl))
    lines.append(summary)
    return Reply(
        text="\n\n".join(lines),
        title=(texts.CASE_CARD_URGENT_TITLE if urgent else texts.CASE_CARD_TITLE).format(code=code, kind=label),
        icon="🚨" if urgent else "🛡️",
        verdict="report",
        facts=(
            Fact(texts.FACT_CASE, code),
            Fact(texts.FACT_KIND, label),
            Fact(texts.FACT_URGENCY, texts.URGENCY_URGENT if urgent else texts.URGENCY_NORMAL),
            Fact(texts.FACT_REPORTER, reporter_name or texts.ANONYMOUS),
            Fact(texts.FACT_STATE, state),
        ),
        buttons=case_buttons(code, status),
        notification_text=texts.NEW_REPORT_NOTIFICATION,
        replaces_message_id=replaces_message_id,
    )


def state_label(case) -> str:
    return texts.CARD_STATE.get(case.status, texts.CARD_STATE["open"]).format(
        acknowledged=_day(case.acknowledged_on), closed=_day(case.closed_on)
    )


def _card_for(view, *, names: RoleNames, replaces_message_id: str | None) -> Reply:
    case = view.case
    return case_card(
        code=case.code, kind=case.kind, urgent=case.urgent, safeguarding=case.safeguarding,
        summary=summary_of(view.text), reporter_name=view.reporter.name if view.reporter else None,
        status=case.status, state=state_label(case), names=names, replaces_message_id=replaces_message_id,
    )


# --- Notifications (rendered by the outbox worker) ---------------------------------------------------------


def opened_message(payload: dict, *, names: RoleNames) -> Reply:
    return case_card(
        code=payload.get("case_code", ""), kind=payload.get("kind", "other"), urgent=bool(payload.get("urgent")),
        safeguarding=bool(payload.get("safeguarding")), summary=payload.get("summary", ""),
        reporter_name=payload.get("reporter_name"), status=repo.OPEN, state=texts.CARD_STATE["open"], names=names,
    )


def reporter_added_message(payload: dict, *, names: RoleNames) -> Reply:
    code = payload.get("case_code", "")
    return Reply(
        text=payload.get("summary", ""),
        title=texts.REPORTER_ADDED_TITLE.format(code=code),
        icon="🛡️",
        buttons=(
            Button(label=texts.REPLY_BUTTON, action_id=actions.CASE_REPLY, value=_value(code)),
            Button(label=texts.READ_BUTTON, action_id=actions.CASE_READ, value=_value(code)),
        ),
        notification_text=texts.UPDATE_NOTIFICATION,
    )


def reminder_message(payload: dict, *, names: RoleNames) -> Reply:
    code = payload.get("case_code", "")
    template = texts.REMINDERS.get(payload.get("reminder", ""), texts.REMINDERS["acknowledge"])
    return Reply(
        text=template.format(code=code, age=payload.get("age_days", "")),
        title=texts.REMINDER_TITLE.format(code=code),
        icon="⏰",
        buttons=case_buttons(code, repo.OPEN if payload.get("reminder", "").startswith("acknowledge") else repo.ACKNOWLEDGED),
        notification_text=texts.UPDATE_NOTIFICATION,
    )


def reporter_update_message(payload: dict, *, names: RoleNames) -> Reply:
    """To a named reporter who asked to be messaged directly: that there is news, not what it is."""
    code = payload.get("case_code", "")
    return Reply(
        text=texts.REPORTER_UPDATE.format(code=code),
        title=texts.REPORTER_UPDATE_TITLE.format(code=code),
        icon="🛡️",
        buttons=(Button(label=texts.FOLLOW_UP_BUTTON, action_id=actions.FOLLOW_UP, value="{}"),),
    )


NOTIFICATIONS = {
    repo.CASE_OPENED: opened_message,
    repo.CASE_MESSAGE: reporter_added_message,
    repo.CASE_REMINDER: reminder_message,
    repo.CASE_UPDATE_FOR_REPORTER: reporter_update_message,
}


# --- Buttons and forms ------------------------------------------------------------------------------------


async def _authorised_case(context: FlowContext, message: IncomingMessage, code: str):
    """(the case, None) when the person may act on it, else (None, the reply that says why not)."""
    view = await repo.get_case(session=context.session, code=code) if code else None
    if view is None:
        return None, Reply(text=texts.CASE_GONE, private=True)
    person = message.conversation
    held = await repo.roles_of(session=context.session, platform=person.platform, user_id=person.user_id)
    allowed = set(repo.recipient_roles(about_headteacher=view.case.about_headteacher, safeguarding=view.case.safeguarding))
    if not held & allowed or (view.case.about_headteacher and repo.HEADTEACHER in held):
        return None, Reply(text=texts.NOT_YOURS, private=True)
    return view, None


def _code_of(value: str) -> str:
    data = actions.decode(value) or {}
    code = data.get("case")
    return code[:20] if isinstance(code, str) else ""


def _actor(message: IncomingMessage, role: str) -> repo.Actor:
    return repo.Actor(role=role, platform=message.conversation.platform, user_id=message.conversation.user_id)


async def _acting_role(context: FlowContext, message: IncomingMessage, view) -> str:
    held = await repo.roles_of(session=context.session, platform=message.conversation.platform, user_id=message.conversation.user_id)
    for role in repo.recipient_roles(about_headteacher=view.case.about_headteacher, safeguarding=view.case.safeguarding):
        if role in held:
            return role
    return view.case.routed_to_role


async def acknowledge(*, context: FlowContext, message: IncomingMessage) -> list[Reply]:
    view, refusal = await _authorised_case(context, message, _code_of(message.click.value))
    if refusal:
        return [refusal]
    role = await _acting_role(context, message, view)
    await repo.acknowledge_case(session=context.session, code=view.case.code, actor=_actor(message, role))
    view = await repo.get_case(session=context.session, code=view.case.code)
    return [_card_for(view, names=context.names, replaces_message_id=message.click.message_id)]


def _staff_form(form_id: str, *, code: str, card: str | None) -> Form:
    metadata = json.dumps({"case": code, "card": card or ""})
    if form_id == actions.CASE_REPLY_FORM:
        return Form(form_id=form_id, title=texts.REPLY_FORM_TITLE, submit_label=texts.REPLY_SUBMIT, private_metadata=metadata,
                    fields=(FormField("reply", texts.FIELD_REPLY, multiline=True),))
    return Form(
        form_id=form_id, title=texts.CLOSE_FORM_TITLE, submit_label=texts.CLOSE_SUBMIT, private_metadata=metadata,
        fields=(FormField("outcome", texts.FIELD_OUTCOME, multiline=True),
                FormField("note", texts.FIELD_STAFF_NOTE, multiline=True, required=False)),
    )


async def _open_staff_form(context: FlowContext, message: IncomingMessage, form_id: str) -> list[Reply]:
    view, refusal = await _authorised_case(context, message, _code_of(message.click.value))
    if refusal:
        return [refusal]
    if view.case.status == repo.CLOSED:
        return [Reply(text=texts.ALREADY_CLOSED.format(code=view.case.code, closed=_day(view.case.closed_on)), private=True)]
    return [Reply(text="", form=_staff_form(form_id, code=view.case.code, card=message.click.message_id), private=True)]


async def open_reply_form(*, context: FlowContext, message: IncomingMessage) -> list[Reply]:
    return await _open_staff_form(context, message, actions.CASE_REPLY_FORM)


async def open_close_form(*, context: FlowContext, message: IncomingMessage) -> list[Reply]:
    return await _open_staff_form(context, message, actions.CASE_CLOSE_FORM)


def _form_metadata(message: IncomingMessage) -> tuple[str, str | None]:
    data = actions.decode(message.form.private_metadata) or {}
    code = data.get("case") if isinstance(data.get("case"), str) else ""
    card = data.get("card") if isinstance(data.get("card"), str) and data.get("card") else None
    return code[:20], card


def _form_again(form_id: str, *, code: str, card: str | None, field: str, problem: str) -> Reply:
    """The staff form redrawn with what is wrong with it."""
    return Reply(text="", form=_staff_form(form_id, code=code, card=card), form_errors=((field, problem),), in_form=True, private=True)


async def _after_staff_form(context, message, view, confirmation: str, card: str | None) -> list[Reply]:
    view = await repo.get_case(session=context.session, code=view.case.code)
    replies = [Reply(text=confirmation, in_form=True, private=True)]
    if card:
        replies.append(_card_for(view, names=context.names, replaces_message_id=card))
    return replies


async def submit_reply(*, context: FlowContext, message: IncomingMessage) -> list[Reply]:
    code, card = _form_metadata(message)
    view, refusal = await _authorised_case(context, message, code)
    if refusal:
        return [refusal]
    reply = message.form.values.get("reply", "").strip()
    if not reply:
        return [_form_again(actions.CASE_REPLY_FORM, code=code, card=card, field="reply", problem=texts.MESSAGE_EMPTY)]
    role = await _acting_role(context, message, view)
    try:
        await repo.add_staff_reply(session=context.session, code=code, text=reply, actor=_actor(message, role))
    except CaseClosed:
        return [Reply(text=texts.ALREADY_CLOSED.format(code=code, closed=_day(view.case.closed_on)), in_form=True, private=True)]
    except TextTooLong as error:
        return [_form_again(actions.CASE_REPLY_FORM, code=code, card=card, field="reply", problem=texts.TOO_LONG.format(limit=error.limit))]
    return await _after_staff_form(context, message, view, texts.REPLY_SAVED.format(code=code), card)


async def submit_close(*, context: FlowContext, message: IncomingMessage) -> list[Reply]:
    code, card = _form_metadata(message)
    view, refusal = await _authorised_case(context, message, code)
    if refusal:
        return [refusal]
    outcome = message.form.values.get("outcome", "").strip()
    if not outcome:
        return [_form_again(actions.CASE_CLOSE_FORM, code=code, card=card, field="outcome", problem=texts.MESSAGE_EMPTY)]
    if view.case.status == repo.CLOSED:
        return [Reply(text=texts.ALREADY_CLOSED.format(code=code, closed=_day(view.case.closed_on)), in_form=True, private=True)]
    role = await _acting_role(context, message, view)
    try:
        await repo.close_case(session=context.session, code=code, actor=_actor(message, role), outcome=outcome,
                              note=message.form.values.get("note", "").strip())
    except TextTooLong as error:
        return [_form_again(actions.CASE_CLOSE_FORM, code=code, card=card, field="outcome", problem=texts.TOO_LONG.format(limit=error.limit))]
    return await _after_staff_form(context, message, view, texts.CASE_CLOSED.format(code=code), card)


async def read(*, context: FlowContext, message: IncomingMessage) -> list[Reply]:
    """The whole report, its details and every message, over as many messages as it takes."""
    view, refusal = await _authorised_case(context, message, _code_of(message.click.value))
    if refusal:
        return [refusal]
    code = view.case.code
    parts = [f"{texts.REPORT_TEXT_HEADING}:\n{view.text}"]
    for name, label in texts.DETAIL_LABELS.items():
        if view.details.get(name):
            parts.append(f"{label}: {view.details[name]}")
    if view.evidence_count:
        parts.append(texts.CASE_EVIDENCE.format(count=view.evidence_count))
    for item in view.messages:
        author = "Reporter" if item.author == "reporter" else context.names.at_start(item.author_role)
        parts.append(f"{author}, {_day(item.sent_on)}:\n{item.text}")
    if view.close_note:
        # Written for staff when closing; `get_case` gives it to the staff view only, never to the reporter.
        parts.append(f"{texts.CLOSE_NOTE_HEADING}:\n{view.close_note}")
    chunks = split_text("\n\n".join(parts), READ_CHUNK_CHARS)
    return [
        Reply(
            text=chunk,
            title=(texts.FULL_REPORT_TITLE if number == 0 else texts.FULL_REPORT_CONTINUED).format(code=code),
            icon="🛡️",
            private=True,
            notification_text=texts.UPDATE_NOTIFICATION,
        )
        for number, chunk in enumerate(chunks)
    ]


ACTIONS = {
    actions.CASE_ACKNOWLEDGE: acknowledge,
    actions.CASE_REPLY: open_reply_form,
    actions.CASE_CLOSE: open_close_form,
    actions.CASE_READ: read,
}
FORMS = {actions.CASE_REPLY_FORM: submit_reply, actions.CASE_CLOSE_FORM: submit_close}
