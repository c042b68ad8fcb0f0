"""The headteacher's decisions on Teams, end to end at the HTTP edge with the real conversation core (SQLite
in the test's folder): activities posted to /api/messages by each person from their one-to-one chat, the
outbox worker's proactive cards, and every call at the recording connector.

A question answered with each decision, a removal request approved, rejected, confirmed and overdue,
clicks refused for anyone but a decider, decisions taken once (twice pressed, or pressed on Teams and on
Slack at the same moment), a connector that fails before the card gets through, a 5 000-character note,
the `dashboard` for each role, and one whole question and answer through Microsoft's emulator."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import func, select

from bot.local_mode import LENT_NAME, lend_headteacher
from bot.teams import cards
from bot.teams.emulator import EMULATOR_USER_ID, EMULATOR_USER_NAME
from handlers import actions, decision_texts, texts
from handlers.flow import time_label
from handlers.messages import PERSON_PREFIX, ButtonClick, ConversationRef, IncomingMessage
from handlers.shown_text import shown_text as defused
from storage import repository as repo
from storage.models import AuditEvent, Notification
from storage.repository._common import utcnow

from .conftest import local_settings, running_bot
from .recording_connector import ConnectorCall
from .test_emulator import card_of, emulator_available, emulator_chat  # noqa: F401 (a fixture)
from .test_escalation import deliver
from .test_flows import QUESTION, action_titled, card_texts, shown
from .test_reports import form_values

TENANT = "00000000-0000-0000-0000-0000000000001"
LABELS = decision_texts.DECISION_BUTTONS["post"]
WHAT = "https://facebook.com/megan/posts/1 shows pupils' faces from the school trip"


@dataclass(frozen=True)
class Person:
    user_id: str
    name: str
    chat: str


HEAD = Person("29:head-teacher-id", "Mrs Patel", "a:head-teacher-one-to-one")
# A display name with Markdown in it: every card must show it as typed, linking nowhere.
STAFF = Person("29:staff-sam", "Sam [Jones](http://evil.example)", "a:staff-sam-one-to-one")
POSTER = Person("29:poster-megan", "Megan Lee", "a:poster-megan-one-to-one")
ESCAPED_STAFF = cards.escape_markdown(STAFF.name)


class School:
    """The people of the school, each in their one-to-one chat with the bot, and the outbox between them."""

    def __init__(self, bot, connector, activity, core, settings) -> None:
        self.bot, self.connector, self.activity, self.core, self.settings = bot, connector, activity, core, settings
        self._ids = itertools.count(1)

    def made(self, person: Person, name: str, **fields) -> dict:
        return self.activity(
            name, id=f"activity-{next(self._ids)}",
            conversation={"conversationType": "personal", "id": person.chat, "tenantId": TENANT},
            **{"from": {"id": person.user_id, "name": person.name}}, **fields,
        )

    async def send(self, made: dict) -> list[ConnectorCall]:
        """What the bot sent in answer to one activity (the turn runs before the HTTP answer)."""
        before = len(self.connector.calls)
        assert (await self.bot.post_activity(made)).status == 202
        return self.connector.calls[before:]

    async def say(self, person: Person, text: str) -> list[ConnectorCall]:
        return await self.send(self.made(person, "message_personal", text=text))

    async def press(self, person: Person, card: ConnectorCall, title: str) -> list[ConnectorCall]:
        """`person` presses the button `title` of the card that `card` sent or last redrew."""
        return await self.click(person, card.message_id, action_titled(card.card, title)["data"])

    async def click(self, person: Person, card_id: str, data: dict) -> list[ConnectorCall]:
        return await self.send(self.made(person, "action_submit", replyToId=card_id, value=data))

    async def submit(self, person: Person, form: ConnectorCall, **typed) -> list[ConnectorCall]:
        return await self.click(person, form.message_id, form_values(form.card, **typed))

    async def deliver(self, expected: int | None = None) -> list[ConnectorCall]:
        """Run the outbox once; the calls it made."""
        before = len(self.connector.calls)
        delivered = await deliver(self.settings, self.core)
        if expected is not None:
            assert delivered == expected
        return self.connector.calls[before:]

    async def assign(self, role: str, person: Person, *, platform: str = "teams", name: str = "") -> None:
        async with self.core.database.transaction() as session:
            await repo.assign_role(session=session, role=role, platform=platform, user_id=person.user_id, display_name=name)

    async def send_question(self) -> None:
        """STAFF asks, and presses "Ask the headteacher" under the answer."""
        [answer] = await self.say(STAFF, QUESTION)
        [sent] = await self.press(STAFF, answer, texts.ASK_HEADTEACHER_BUTTON)
        assert sent.method == "PUT" and sent.message_id == answer.message_id  # its button is gone

    async def ask_the_headteacher(self) -> ConnectorCall:
        """STAFF sends their question; the outbox brings HEAD the question's card."""
        await self.send_question()
        [card] = await self.deliver(1)
        return card

    async def approve(self, card: ConnectorCall) -> tuple[ConnectorCall, ConnectorCall, ConnectorCall, ConnectorCall]:
        """HEAD approves the request on `card`: what they are told, their card redrawn, then the notice the
        outbox brings POSTER and the decision it brings STAFF."""
        said, redrawn = await self.press(HEAD, card, decision_texts.APPROVE_BUTTON)
        sent = await self.deliver(2)
        return said, redrawn, to(POSTER, sent), to(STAFF, sent)

    async def request_removal(self) -> ConnectorCall:
        """STAFF asks for POSTER's post to come down; the outbox brings HEAD the request's card."""
        [form] = await self.say(STAFF, "remove")
        [sent] = await self.submit(STAFF, form, content=WHAT, location="colleague", poster=f"{PERSON_PREFIX}{POSTER.user_id}",
                                   reason="A pupil's face and name are in it")
        assert sent.method == "PUT" and sent.message_id == form.message_id
        assert shown_text(sent) == [decision_texts.REQUEST_SENT.format(headteacher="Mrs Patel")]
        [card] = await self.deliver(1)
        return card


async def open_school(bot, connector, activity, core, settings) -> School:
    """A headteacher named as such, and three people who have each said hello to the bot once."""
    school = School(bot, connector, activity, core, settings)
    await school.assign(repo.HEADTEACHER, HEAD, name="Mrs Patel")
    for person in (HEAD, STAFF, POSTER):
        await school.say(person, "hello")
    return school


@pytest.fixture
async def school(bot, connector, activity, core, settings) -> School:
    return await open_school(bot, connector, activity, core, settings)


def shown_text(call: ConnectorCall) -> list[str]:
    """What a message shows: a card's texts, or a plain message's text."""
    return card_texts(call.card) if call.card else [call.body["text"]]


def facts_of(card: dict) -> dict[str, str]:
    return {shown(fact["title"]): shown(fact["value"]) for item in card["body"] if item["type"] == "FactSet" for fact in item["facts"]}


def raw_facts(card: dict) -> dict[str, str]:
    return {fact["title"]: fact["value"] for item in card["body"] if item["type"] == "FactSet" for fact in item["facts"]}


def titles(card: dict) -> list[str]:
    return [action["title"] for action in card.get("actions", ())]


def inputs_of(card: dict) -> dict[str, dict]:
    return {item["id"]: item for item in card["body"] if item.get("type", "").startswith("Input.")}


def to(person: Person, calls: list[ConnectorCall]) -> ConnectorCall:
    [call] = [call for call in calls if f"/v3/conversations/{person.chat}/" in call.path]
    return call


async def count(core, model, *where) -> int:
    async with core.database.transaction() as session:
        return (await session.exec(select(func.count()).select_from(model).where(*where))).one()


async def staffs_only(core, listing):
    """STAFF's one question or removal request, as stored (`listing`: the repository's list by requester)."""
    async with core.database.transaction() as session:
        [item] = await listing(session=session, platform="teams", user_id=STAFF.user_id)
    return item


async def the_question(core):
    return await staffs_only(core, repo.list_escalations_by_requester)


async def the_removal(core):
    return await staffs_only(core, repo.list_removals_by_requester)


def london(moment) -> str:
    return time_label(moment, timezone="Europe/London")


def assert_question_card(card: dict) -> None:
    """The headteacher's card: who asked (escaped), the question, the quoted clauses and three answers."""
    assert ESCAPED_STAFF in card["body"][0]["text"]
    assert card_texts(card)[0].endswith(decision_texts.QUESTION_TITLES["post"].format(asker=defused(STAFF.name)))
    assert raw_facts(card)[texts.ASKED_BY] == ESCAPED_STAFF
    assert QUESTION in card_texts(card)
    quotes = next(item for item in card["body"] if item["type"] == "Container")
    assert any(block["text"].startswith("“") for block in quotes["items"])
    assert titles(card) == [LABELS["fine"], LABELS["dont_post"], LABELS["talk"]]


# --- A question answered --------------------------------------------------------------------------------


@pytest.mark.parametrize("decision", ["fine", "dont_post", "talk"])
async def test_a_question_answered_with_each_decision_reaches_the_member_of_staff(school, decision):
    card = await school.ask_the_headteacher()
    assert card.method == "POST" and card.body["recipient"]["id"] == HEAD.user_id
    assert card.body["summary"] == decision_texts.QUESTION_NOTIFICATION  # the lock screen says no more
    assert_question_card(card.card)

    [form] = await school.press(HEAD, card, LABELS[decision])
    assert form.method == "POST" and f"/v3/conversations/{HEAD.chat}/" in form.path
    note_input = inputs_of(form.card)["note"]
    assert note_input["type"] == "Input.Text" and note_input["isMultiline"] and not note_input["isRequired"]
    assert titles(form.card) == [decision_texts.DECISION_SUBMIT]

    note = "Please ask the parents first, then go ahead."
    confirmation, redrawn = await school.submit(HEAD, form, note=note)
    # The form's card becomes the confirmation; the question's card shows the decision, and no buttons.
    assert (confirmation.method, confirmation.message_id) == ("PUT", form.message_id)
    assert shown_text(confirmation) == [decision_texts.DECISION_SENT.format(decision=LABELS[decision], asker=defused(STAFF.name))]
    assert (redrawn.method, redrawn.message_id) == ("PUT", card.message_id)
    escalation = await the_question(school.core)
    decided = decision_texts.DECIDED_LINE.format(
        icon=decision_texts.DECISION_ICONS[decision], decision=LABELS[decision], who="Mrs Patel", when=london(escalation.resolved_at),
    )
    assert decided in card_texts(redrawn.card) and note in card_texts(redrawn.card)
    assert "actions" not in redrawn.card

    [answer] = await school.deliver(1)
    assert f"/v3/conversations/{STAFF.chat}/" in answer.path and answer.body["recipient"]["id"] == STAFF.user_id
    shown_answer = card_texts(answer.card)
    title = decision_texts.ANSWER_TITLES[decision].format(headteacher="Mrs Patel", decision=LABELS[decision])
    assert shown_answer[0] == f"{decision_texts.DECISION_ICONS[decision]} {title[:1].upper()}{title[1:]}"
    assert note in shown_answer
    assert (decision_texts.ANSWER_TALK.format(headteacher="Mrs Patel") in shown_answer) == (decision == "talk")
    assert facts_of(answer.card)[texts.YOU_ASKED] == QUESTION

    # The same form sent again (a double press, a retry) changes nothing and sends nothing more.
    again, card_again = await school.submit(HEAD, form, note="changed my mind")
    assert "already answered" in shown_text(again)[0] and card_again.message_id == card.message_id
    assert await school.deliver(0) == []
    assert (await the_question(school.core)).response == note


# --- Removal requests -----------------------------------------------------------------------------------


async def test_the_poster_field_lists_the_people_the_bot_knows(school):
    [form] = await school.say(STAFF, "remove")
    poster = inputs_of(form.card)["poster"]
    assert poster["type"] == "Input.ChoiceSet"
    choices = {choice["value"]: choice["title"] for choice in poster["choices"]}
    assert choices[f"{PERSON_PREFIX}{POSTER.user_id}"] == POSTER.name  # they chatted with the bot before
    assert choices[f"{PERSON_PREFIX}{HEAD.user_id}"] == HEAD.name
    assert choices[cards.EMPTY_CHOICE_VALUE] == "Nobody"


async def test_a_removal_request_approved_then_confirmed_by_the_poster(school):
    card = await school.request_removal()
    assert card.body["recipient"]["id"] == HEAD.user_id
    assert titles(card.card) == [decision_texts.APPROVE_BUTTON, decision_texts.REJECT_BUTTON]
    assert ESCAPED_STAFF in card.card["body"][0]["text"] and raw_facts(card.card)[texts.ASKED_BY] == ESCAPED_STAFF
    assert facts_of(card.card)[decision_texts.FACT_POSTER] == POSTER.name
    assert any(item["type"] == "Container" for item in card.card["body"])  # the clause it breaches
    assert defused(WHAT) in " ".join(card_texts(card.card))  # shown as typed, not a link

    said, redrawn, notice, decided = await school.approve(card)
    request = await the_removal(school.core)
    state = decision_texts.STATE_APPROVED.format(who="Mrs Patel", when=london(request.decided_at), acting=POSTER.name, due=london(request.due_at))
    assert said.method == "POST" and shown_text(said) == [state]
    assert (redrawn.method, redrawn.message_id) == ("PUT", card.message_id) and "actions" not in redrawn.card
    assert facts_of(redrawn.card)[decision_texts.FACT_STATE] == state
    assert card_texts(notice.card)[0].endswith(decision_texts.NOTICE_TITLE.format(due=london(request.due_at)))
    assert titles(notice.card) == [decision_texts.REMOVED_BUTTON]
    assert card_texts(decided.card)[0].endswith(decision_texts.DECIDED_APPROVED_TITLE.format(headteacher="Mrs Patel"))

    # Someone else's "Removed" is refused; the poster's is taken, and their card loses its button.
    [refused] = await school.press(STAFF, notice, decision_texts.REMOVED_BUTTON)
    assert shown_text(refused) == [decision_texts.ONLY_THE_ACTOR.format(headteacher="Mrs Patel")]
    thanks, done = await school.press(POSTER, notice, decision_texts.REMOVED_BUTTON)
    assert shown_text(thanks) == [decision_texts.REMOVED_THANKS]
    assert (done.method, done.message_id) == ("PUT", notice.message_id) and "actions" not in done.card

    told = await school.deliver(2)
    removed_line = decision_texts.DONE.format(who=POSTER.name, when=london((await the_removal(school.core)).removed_at))
    assert removed_line in card_texts(to(STAFF, told).card) and removed_line in card_texts(to(HEAD, told).card)


async def test_a_removal_request_rejected_with_a_reason(school):
    card = await school.request_removal()
    [form] = await school.press(HEAD, card, decision_texts.REJECT_BUTTON)
    assert inputs_of(form.card)["reason"]["isRequired"]

    [missing] = await school.submit(HEAD, form, reason="  ")
    assert missing.method == "PUT" and decision_texts.REJECT_REASON_EMPTY in shown_text(missing)

    reason = "It was a public event and the parents agreed."
    confirmation, redrawn = await school.submit(HEAD, form, reason=reason)
    assert (confirmation.method, confirmation.message_id) == ("PUT", form.message_id)
    assert shown_text(confirmation) == [decision_texts.REJECTED_SENT]
    assert (redrawn.method, redrawn.message_id) == ("PUT", card.message_id) and "actions" not in redrawn.card
    assert facts_of(redrawn.card)[decision_texts.FACT_STATE].startswith("Rejected by Mrs Patel on ")

    [decided] = await school.deliver(1)
    assert f"/v3/conversations/{STAFF.chat}/" in decided.path
    assert card_texts(decided.card)[0].endswith(decision_texts.DECIDED_REJECTED_TITLE.format(headteacher="Mrs Patel"))
    assert reason in card_texts(decided.card)
    assert await count(school.core, Notification, Notification.kind == "removal_notice") == 0


async def test_an_overdue_removal_comes_back_to_the_poster_and_the_headteacher(school):
    await school.approve(await school.request_removal())
    due = (await the_removal(school.core)).due_at

    assert await school.core.send_reminders(now=due - timedelta(minutes=1)) == 0
    assert await school.core.send_reminders(now=due + timedelta(minutes=1)) == 1
    sent = await school.deliver(2)
    for_poster, for_head = to(POSTER, sent), to(HEAD, sent)
    assert card_texts(for_poster.card)[0].endswith(decision_texts.NOTICE_OVERDUE_TITLE)
    assert card_texts(for_head.card)[0].endswith(decision_texts.OVERDUE_FOR_DECIDER_TITLE)
    assert decision_texts.OVERDUE_FOR_DECIDER.format(acting=POSTER.name, due=london(due)) in card_texts(for_head.card)
    assert await school.core.send_reminders(now=due + timedelta(hours=5)) == 0  # once

    # The headteacher may confirm it from their reminder (they may have had it taken down).
    thanks, done = await school.press(HEAD, for_head, decision_texts.REMOVED_BUTTON)
    assert shown_text(thanks) == [decision_texts.REMOVED_THANKS] and done.message_id == for_head.message_id
    assert (await the_removal(school.core)).status == "removed"


async def test_a_confirmed_notice_no_longer_asks_for_the_removal(school):
    *_, notice, _decided = await school.approve(await school.request_removal())
    _thanks, done = await school.press(POSTER, notice, decision_texts.REMOVED_BUTTON)
    assert "Please remove" not in card_texts(done.card)[0]


async def test_with_action_execute_the_approved_card_comes_back_in_the_invoke_answer(tmp_path, connector, activity):
    settings = local_settings(tmp_path, teams_card_actions="execute")
    async with running_bot(settings) as (core, bot):
        school = await open_school(bot, connector, activity, core, settings)
        card = await school.request_removal()
        approve = action_titled(card.card, decision_texts.APPROVE_BUTTON)
        assert approve["type"] == "Action.Execute"  # the proactive card, too, has the setting's buttons
        invoke = school.made(HEAD, "invoke_action_execute", replyToId=card.message_id,
                             value={"action": {"type": "Action.Execute", "verb": approve["verb"], "data": approve["data"]}})
        before = len(connector.calls)
        response = await bot.post_activity(invoke)
        body = await response.json()
        [said] = connector.calls[before:]
        request = await the_removal(core)

    # Teams swaps the card for the one in the answer; what the headteacher is told comes as a message.
    assert body["type"] == "application/vnd.microsoft.card.adaptive" and "actions" not in body["value"]
    assert facts_of(body["value"])[decision_texts.FACT_STATE].startswith("Approved by Mrs Patel")
    assert said.method == "POST" and shown_text(said)[0].startswith("Approved by Mrs Patel")
    assert request.status == "approved"


# --- Refusals and decisions taken once --------------------------------------------------------------------


async def test_a_click_from_anyone_but_a_decider_changes_nothing_and_says_why(school):
    question = await school.ask_the_headteacher()
    request = await school.request_removal()
    refusal = decision_texts.NOT_A_DECIDER.format(headteacher="Mrs Patel")
    for card, title in ((question, LABELS["fine"]), (request, decision_texts.APPROVE_BUTTON), (request, decision_texts.REJECT_BUTTON)):
        # The card's button data, sent from the member of staff's own chat (a forwarded card, a forged click).
        [refused] = await school.press(STAFF, card, title)
        assert refused.method == "POST" and f"/v3/conversations/{STAFF.chat}/" in refused.path
        assert shown_text(refused) == [refusal]
    assert (await the_question(school.core)).status == "open"
    assert (await the_removal(school.core)).status == "pending"
    assert await school.deliver(0) == []


async def test_a_second_approval_gives_no_second_decision_or_notice(school):
    card = await school.request_removal()
    await school.press(HEAD, card, decision_texts.APPROVE_BUTTON)
    already, redrawn = await school.press(HEAD, card, decision_texts.APPROVE_BUTTON)
    assert shown_text(already)[0].startswith("This request was already decided: Approved by Mrs Patel")
    assert redrawn.message_id == card.message_id and "actions" not in redrawn.card
    assert await count(school.core, Notification, Notification.kind == "removal_notice") == 1
    assert await count(school.core, AuditEvent, AuditEvent.action == "removal_request.approved") == 1


async def test_approvals_at_the_same_moment_on_teams_and_on_slack_give_one_decision(school):
    """The headteacher on Teams and a deputy on Slack press Approve together: one decision, one notice."""
    deputy = ConversationRef(platform="slack", conversation_id="D0DEPUTY", user_id="U0DEPUTY", user_name="Mr Khan")
    async with school.core.database.transaction() as session:
        await repo.assign_role(session=session, role=repo.DEPUTY_HEADTEACHER, platform="slack", user_id=deputy.user_id)
    card = await school.request_removal()
    value = action_titled(card.card, decision_texts.APPROVE_BUTTON)["data"]["value"]
    on_slack = IncomingMessage(
        conversation=deputy, is_direct=True, event_id="Ev0DEPUTY1", form_here=True,
        click=ButtonClick(action_id=actions.REMOVAL_APPROVE, value=value, message_id="D0DEPUTY:1.1"),
    )

    on_teams, slack_replies = await asyncio.gather(school.press(HEAD, card, decision_texts.APPROVE_BUTTON), school.core.handle(on_slack))

    said = [shown_text(on_teams[0])[0], slack_replies[0].text]
    assert sum(text.startswith("Approved by ") for text in said) == 1
    assert sum(text.startswith("This request was already decided") for text in said) == 1
    request = await the_removal(school.core)
    assert request.status == "approved" and request.decided_by_name in ("Mrs Patel", "Mr Khan")
    assert await count(school.core, AuditEvent, AuditEvent.action == "removal_request.approved") == 1
    sent = await school.deliver(2)  # one notice to the poster, one decision to the member of staff
    assert len(sent) == 2 and to(POSTER, sent) and to(STAFF, sent)


# --- Delivery ----------------------------------------------------------------------------------------------


async def test_a_busy_connector_is_retried_within_the_delivery(school, connector):
    await school.send_question()
    connector.fail_with = [429, 502]

    sent = await school.deliver(1)

    assert [call.status for call in sent] == [429, 502, 200]
    assert_question_card(sent[-1].card)


async def test_a_card_the_connector_refused_twice_arrives_on_the_third_try(school, connector):
    await school.send_question()
    connector.fail_with = [500, 500]

    for failure in (1, 2):
        [failed] = await school.deliver(0)
        assert failed.status == 500
        async with school.core.database.transaction() as session:
            [row] = (await session.exec(select(Notification))).all()
            assert (row.status, row.attempts) == ("pending", failure)
            assert "TeamsDeliveryError" in row.last_error and "500" in row.last_error and QUESTION not in row.last_error
            # Due again now, rather than after the back-off.
            await session.exec(update(Notification).values(next_attempt_at=utcnow()))

    [card] = await school.deliver(1)
    assert card.status == 200 and f"/v3/conversations/{HEAD.chat}/" in card.path
    assert_question_card(card.card)
    assert await school.deliver(0) == []


def five_thousand(sentence: str) -> str:
    text = (sentence * (5000 // len(sentence) + 1))[:5000].rstrip()
    return text + "x" * (5000 - len(text))


@pytest.mark.parametrize("with_draft", [False, True], ids=["question", "question-and-5000-character-draft"])
async def test_a_5000_character_note_is_kept_whole_and_the_cards_stay_within_the_size_limit(school, with_draft):
    draft = five_thousand("Great day at sports day, well done everyone (photos to follow)! ") if with_draft else ""
    # Typed, with nothing after it: the form asks for the question and the draft.
    [ask_form] = await school.say(STAFF, "ask the head")
    await school.submit(STAFF, ask_form, question=QUESTION, draft=draft)
    [card] = await school.deliver(1)
    assert draft in " ".join(card_texts(card.card))
    # (The buttons' words follow what the advisor made of the question and the draft together.)
    labels = decision_texts.DECISION_BUTTONS[(await the_question(school.core)).topic]
    [form] = await school.press(HEAD, card, labels["dont_post"])
    note = five_thousand("Please don't (not even privately) – the parents of two pupils said no to photos, and £5 won't change that. ")
    assert inputs_of(form.card)["note"]["maxLength"] >= len(note) == 5000

    _confirmation, redrawn = await school.submit(HEAD, form, note=note)
    [answer] = await school.deliver(1)

    assert (await the_question(school.core)).response == note
    for shown_card in (redrawn.card, answer.card):
        assert cards._size(shown_card) <= cards.MAX_CARD_BYTES
    # The member of staff gets the whole note, however long the question and the draft were.
    assert " ".join(note.split()) in " ".join(" ".join(card_texts(answer.card)).split())
    assert texts.SHORTENED_NOTE not in card_texts(answer.card)
    # The headteacher's own card holds the question, the draft and the note: with a long draft it is cut
    # at the end of the note, and says so.
    shown_redrawn = " ".join(" ".join(card_texts(redrawn.card)).split())
    assert (" ".join(note.split()) in shown_redrawn) is not with_draft
    assert (texts.SHORTENED_NOTE in card_texts(redrawn.card)) is with_draft


# --- The overview ------------------------------------------------------------------------------------------


async def test_the_dashboard_lists_what_waits_for_the_headteacher_with_its_buttons(school):
    await school.ask_the_headteacher()
    await school.request_removal()

    header, question, request, own = await school.say(HEAD, "dashboard")

    assert card_texts(header.card)[0].endswith(decision_texts.DASHBOARD_TITLE)
    assert "actions" not in header.card
    assert titles(question.card) == [LABELS["fine"], LABELS["dont_post"], LABELS["talk"]] and QUESTION in card_texts(question.card)
    assert titles(request.card) == [decision_texts.APPROVE_BUTTON, decision_texts.REJECT_BUTTON]
    assert card_texts(own.card)[0].endswith(decision_texts.YOUR_REQUESTS_TITLE)

    # Its buttons work where they are: the dashboard's card is the one redrawn.
    _said, redrawn = await school.press(HEAD, request, decision_texts.APPROVE_BUTTON)
    assert (redrawn.method, redrawn.message_id) == ("PUT", request.message_id) and "actions" not in redrawn.card


async def test_the_dashboard_of_a_member_of_staff_shows_their_own_requests_only(school):
    await school.ask_the_headteacher()
    # Someone else's request, which STAFF must not see.
    [form] = await school.say(POSTER, "remove")
    await school.submit(POSTER, form, content="The PTA's post about the lost property sale", location="parent")

    calls = await school.say(STAFF, "dashboard")

    header, own = calls
    assert shown_text(header)[-1] == decision_texts.DASHBOARD_COUNTS_STAFF
    shown_own = " ".join(card_texts(own.card))
    assert QUESTION[:40] in shown_own and decision_texts.WAITING in shown_own
    assert "lost property" not in shown_own
    assert titles(own.card) == [decision_texts.REMOVAL_BUTTON]
    assert not {LABELS["fine"], decision_texts.APPROVE_BUTTON} & {title for call in calls for title in titles(call.card)}


# --- Through Microsoft's emulator ----------------------------------------------------------------------


async def test_a_question_asked_and_answered_by_the_emulators_one_user(emulator_available, settings, core):
    """Local mode in Microsoft's emulator: its one user is lent the headteacher's role, so they ask, get the
    headteacher's card in the same chat, answer it with a note, and receive the answer."""
    assert await lend_headteacher(core.database, platform="teams", user_id=EMULATOR_USER_ID)
    async with emulator_chat(settings, core) as (client, emulator):
        await client.open_chat()
        await client.say(QUESTION)
        answer = (await client.next_frame("createMessage"))["message"]
        await client.submit(answer, action_titled(card_of(answer), texts.ASK_HEADTEACHER_BUTTON)["data"])
        sent = await client.next_frame("updateMessage", "createMessage")
        assert sent["action"] == "updateMessage" and sent["message"]["messageId"] == answer["messageId"]

        assert await deliver(settings, core) == 1
        question = (await client.next_frame("createMessage"))["message"]
        question_card = card_of(question)
        assert card_texts(question_card)[0].endswith(decision_texts.QUESTION_TITLES["post"].format(asker=EMULATOR_USER_NAME))
        assert facts_of(question_card)[texts.ASKED_BY] == EMULATOR_USER_NAME
        assert titles(question_card) == [LABELS["fine"], LABELS["dont_post"], LABELS["talk"]]

        await client.submit(question, action_titled(question_card, LABELS["fine"])["data"])
        form = (await client.next_frame("createMessage"))["message"]
        note = "Yes, with the parents' consent forms checked first."
        await client.submit(form, {**form_values(card_of(form)), "note": note})
        updated = {}
        for _ in range(2):  # the form becomes the confirmation, and the question's card shows the decision
            message = (await client.next_frame("updateMessage"))["message"]
            updated[message["messageId"]] = card_of(message)
        assert set(updated) == {form["messageId"], question["messageId"]}
        assert card_texts(updated[form["messageId"]]) == [
            decision_texts.DECISION_SENT.format(decision=LABELS["fine"], asker=EMULATOR_USER_NAME)
        ]
        assert "actions" not in updated[question["messageId"]] and note in card_texts(updated[question["messageId"]])

        assert await deliver(settings, core) == 1
        reply = card_of((await client.next_frame("createMessage"))["message"])
        # Answered under the name local mode lends the role with.
        assert card_texts(reply)[0] == f"✅ {decision_texts.ANSWER_TITLES['fine'].format(headteacher=LENT_NAME, decision=LABELS['fine'])}"
        assert note in card_texts(reply)
