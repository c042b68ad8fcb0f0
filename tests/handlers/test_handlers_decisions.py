"""The headteacher's decisions through the core: a question answered with each button and a note, a
removal request approved, rejected, confirmed and overdue, a notice sent directly, refusals for anyone
else, decisions taken once, reminders with a frozen clock, and the overview for each role."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from handler_helpers import count, signed_click
from sqlmodel import select

from handlers import actions, decision_texts
from handlers.core import NOTIFICATIONS
from handlers.messages import PERSON_PREFIX, ButtonClick, ConversationRef, FormSubmission, IncomingMessage
from storage import repository as repo
from storage.models import AuditEvent, Notification, RemovalRequest

QUESTION = "Can I post the sports day photos?"
HEAD = ConversationRef(platform="slack", conversation_id="DHEAD", user_id="U0HEAD", user_name="")
STAFF = ConversationRef(platform="slack", conversation_id="D1", user_id="U1", user_name="Sam Jones")
POSTER = ConversationRef(platform="slack", conversation_id="D2", user_id="U2POSTER")


def as_person(person: ConversationRef, *, text: str = "", click: ButtonClick | None = None,
              form: FormSubmission | None = None, event_id: str = "") -> IncomingMessage:
    return IncomingMessage(conversation=person, is_direct=True, text=text, click=click, form=form, event_id=event_id, form_here=True)


def press(person, button, *, message_id: str = "DHEAD:1.1"):
    return as_person(person, click=ButtonClick(action_id=button.action_id, value=button.value, message_id=message_id))


def send_form(person, form, values: dict):
    return as_person(person, form=FormSubmission(form_id=form.form_id, values=values, private_metadata=form.private_metadata))


async def assign(database, role, person, name=""):
    async with database.transaction() as session:
        await repo.assign_role(session=session, role=role, platform=person.platform, user_id=person.user_id, display_name=name)


async def notifications(database, kind=None) -> list:
    async with database.transaction() as session:
        claimed = await repo.claim_notifications(session=session, worker_id="test", limit=100)
        for item in claimed:
            await repo.mark_delivered(session=session, notification_id=item.id, worker_id="test")
    return [item for item in claimed if kind is None or item.kind == kind]


def card_of(core, notification):
    return core._notification_message(notification)


def button(reply, action_id):
    return next(b for b in reply.buttons if b.action_id == action_id)


@pytest.fixture
async def head(database):
    await assign(database, repo.HEADTEACHER, HEAD, "Mrs Patel")


async def ask_question(core, database) -> object:
    [answer] = await core.handle(as_person(STAFF, text=QUESTION))
    ask = button(answer, actions.ASK_HEADTEACHER)
    await core.handle(press(STAFF, ask, message_id="D1:9.9"))
    [opened] = await notifications(database, "escalation_opened")
    return opened


@pytest.mark.parametrize(
    ("action_id", "decision", "label"),
    [(actions.QUESTION_FINE, "fine", "Fine to post"), (actions.QUESTION_DONT, "dont_post", "Don't post"),
     (actions.QUESTION_TALK, "talk", "Let's talk")],
)
async def test_a_question_answered_with_each_button_and_a_note(core, database, head, action_id, decision, label):
    opened = await ask_question(core, database)
    card = card_of(core, opened)
    assert [b.label for b in card.buttons] == ["Fine to post", "Don't post", "Let's talk"]
    assert QUESTION in card.text and card.quotes  # the clauses the advisor quoted
    [asked_by] = [fact for fact in card.facts if fact.person is not None]
    assert (asked_by.value, asked_by.person.platform, asked_by.person.user_id) == ("Sam Jones", "slack", "U1")

    [form_reply] = await core.handle(press(HEAD, button(card, action_id)))
    form = form_reply.form
    assert form.form_id == actions.QUESTION_DECISION_FORM and not form.fields[0].required

    note = "Check with the parents first. " * 170  # 5 000 characters, kept whole
    replies = await core.handle(send_form(HEAD, form, {"note": note.strip()}))
    assert replies[0].in_form and label in replies[0].text
    redrawn = replies[1]
    assert redrawn.replaces_message_id == "DHEAD:1.1" and not redrawn.buttons
    assert any(fact.person and fact.person.user_id == "U1" for fact in redrawn.facts)  # still says who asked
    assert "Mrs Patel" in redrawn.text and label in redrawn.text

    [answered] = await notifications(database, "escalation_answered")
    assert (answered.recipient_platform, answered.recipient_user_id) == ("slack", "U1")
    message = card_of(core, answered)
    assert note.strip() in message.text
    assert decision == answered.payload["decision"]

    # A second answer, from the same card or another platform's copy, changes nothing.
    [again, *_] = await core.handle(send_form(HEAD, form, {"note": "changed my mind"}))
    assert "already answered" in again.text and "Mrs Patel" in again.text
    assert await notifications(database, "escalation_answered") == []


async def test_only_a_decider_may_answer_and_a_deputy_may(core, database, head):
    opened = await ask_question(core, database)
    card = card_of(core, opened)
    [refused] = await core.handle(press(STAFF, button(card, actions.QUESTION_FINE)))
    assert refused.text == decision_texts.NOT_A_DECIDER.format(headteacher="Mrs Patel") and refused.form is None

    deputy = ConversationRef(platform="teams", conversation_id="a:1", user_id="29:deputy", user_name="Mr Khan")
    await assign(database, repo.DEPUTY_HEADTEACHER, deputy)
    [form_reply] = await core.handle(press(deputy, button(card, actions.QUESTION_TALK)))
    await core.handle(send_form(deputy, form_reply.form, {"note": ""}))
    [answered] = await notifications(database, "escalation_answered")
    assert answered.payload["responder_name"] == "Mr Khan"


async def test_question_cards_reach_the_headteacher_and_deputies_on_every_platform(core, database, head):
    await assign(database, repo.DEPUTY_HEADTEACHER, ConversationRef(platform="teams", conversation_id="", user_id="29:deputy"))
    opened = await ask_question(core, database)
    delivered = []

    async def sender(*, user_id, reply):
        delivered.append(user_id)

    await core.deliver(opened, senders={"slack": sender, "teams": sender})
    assert sorted(delivered) == ["29:deputy", "U0HEAD"]


async def test_forged_or_unknown_values_change_nothing(core, database, head):
    for value in ("{}", "not json", '{"escalation": 999}', '{"escalation": "1; drop"}', '{"removal": -1}'):
        for action_id in (actions.QUESTION_FINE, actions.REMOVAL_APPROVE, actions.REMOVAL_DONE):
            [reply] = await core.handle(as_person(HEAD, click=signed_click(core, action_id, value)))
            assert reply.private and reply.form is None
    assert await count(database, Notification) == 0


async def test_typing_ask_the_head_sends_it_or_opens_the_form(core, database, head):
    [sent] = await core.handle(as_person(STAFF, text="ask the head: may I share the fair poster?"))
    assert sent.title.startswith("Question sent")
    [opened] = await notifications(database, "escalation_opened")
    assert opened.payload["question"] == "may I share the fair poster?"

    [form_reply] = await core.handle(as_person(STAFF, text="Ask the headteacher"))
    form = form_reply.form
    [error] = await core.handle(send_form(STAFF, form, {"question": "  ", "draft": ""}))
    assert error.form_errors and error.in_form
    [done] = await core.handle(send_form(STAFF, form, {"question": "Is this OK?", "draft": "Great day at the fair!"}))
    assert done.in_form
    [second] = await notifications(database, "escalation_opened")
    assert second.payload["draft"] == "Great day at the fair!"
    assert "Great day at the fair!" in card_of(core, second).text


async def test_nobody_to_ask_says_so_and_queues_nothing(core, database):
    [reply] = await core.handle(as_person(STAFF, text="ask the head: may I?"))
    assert reply.text == decision_texts.ASK_NO_DECIDER.format(headteacher="Mrs Patel")
    assert await count(database, Notification) == 0


async def test_an_unanswered_question_is_reminded_after_two_school_days(core, database, head):
    await ask_question(core, database)
    async with database.transaction() as session:
        [escalation] = await repo.list_open_escalations(session=session)
    asked = escalation.created_at.replace(tzinfo=escalation.created_at.tzinfo or UTC)
    assert await core.send_reminders(now=asked + timedelta(hours=1)) == 0
    assert await core.send_reminders(now=asked + timedelta(days=5)) >= 1
    kinds = sorted(n.kind for n in await notifications(database))
    assert kinds == ["escalation_reminder", "escalation_waiting"]
    assert await core.send_reminders(now=asked + timedelta(days=6)) == 0


async def request_removal(core, database, *, poster: ConversationRef | None = POSTER, location="colleague"):
    [form_reply] = await core.handle(as_person(STAFF, text="remove"))
    form = form_reply.form
    assert form.form_id == actions.REMOVAL_FORM and form.title == decision_texts.REQUEST_FORM_TITLE
    values = {"content": "https://facebook.com/some/post with a pupil's photo", "location": location,
              "poster": f"{PERSON_PREFIX}{poster.user_id}" if poster else "", "reason": "A pupil is named", "clause": ""}
    [sent] = await core.handle(send_form(STAFF, form, values))
    assert sent.in_form and sent.text == decision_texts.REQUEST_SENT.format(headteacher="Mrs Patel")
    [requested] = await notifications(database, "removal_requested")
    return requested


async def test_a_removal_request_with_no_description_asks_for_it(core, database, head):
    [form_reply] = await core.handle(as_person(STAFF, text="take down"))
    [again] = await core.handle(send_form(STAFF, form_reply.form, {"content": " ", "location": "parent"}))
    assert again.form_errors == (("content", decision_texts.CONTENT_EMPTY),) and again.form is not None
    assert await count(database, RemovalRequest) == 0


async def test_a_removal_approved_noticed_and_confirmed(core, database, head):
    requested = await request_removal(core, database)
    card = card_of(core, requested)
    assert [b.label for b in card.buttons] == ["Approve", "Reject"] and card.quotes  # the clause, suggested

    [refused] = await core.handle(press(STAFF, button(card, actions.REMOVAL_APPROVE)))
    assert refused.text == decision_texts.NOT_A_DECIDER.format(headteacher="Mrs Patel")

    said, redrawn = await core.handle(press(HEAD, button(card, actions.REMOVAL_APPROVE)))
    assert "Approved by Mrs Patel" in said.text and not redrawn.buttons
    sent = await notifications(database)
    notice = next(n for n in sent if n.kind == "removal_notice")
    assert (notice.recipient_platform, notice.recipient_user_id) == ("slack", "U2POSTER")
    decided = next(n for n in sent if n.kind == "removal_decided")
    assert decided.recipient_user_id == "U1" and decided.payload["status"] == "approved"

    # A second approval (a double click, the other platform's copy) gives no second notice.
    [already, _card] = await core.handle(press(HEAD, button(card, actions.REMOVAL_APPROVE)))
    assert "already decided" in already.text
    assert await notifications(database) == []

    notice_card = card_of(core, notice)
    removed = button(notice_card, actions.REMOVAL_DONE)
    [not_theirs] = await core.handle(press(STAFF, removed))
    assert "Only the person asked" in not_theirs.text
    thanks, redrawn = await core.handle(press(POSTER, removed, message_id="D2:1.1"))
    assert thanks.text == decision_texts.REMOVED_THANKS and not redrawn.buttons
    done = await notifications(database, "removal_done")
    assert sorted((n.recipient_role or n.recipient_user_id) for n in done) == ["U1", "headteacher"]

    async with database.transaction() as session:
        audit = [e.action for e in (await session.exec(select(AuditEvent))).all()]
    assert {"removal_request.created", "removal_request.approved", "removal_request.removed"} <= set(audit)


async def test_a_removal_rejected_with_a_reason(core, database, head):
    card = card_of(core, await request_removal(core, database, poster=None, location="parent"))
    [form_reply] = await core.handle(press(HEAD, button(card, actions.REMOVAL_REJECT)))
    [missing] = await core.handle(send_form(HEAD, form_reply.form, {"reason": ""}))
    assert missing.form_errors
    replies = await core.handle(send_form(HEAD, form_reply.form, {"reason": "It's a public event photo"}))
    assert replies[0].text == decision_texts.REJECTED_SENT
    [decided] = await notifications(database, "removal_decided")
    assert "It's a public event photo" in card_of(core, decided).text


async def test_a_parents_post_approved_asks_the_headteacher_to_get_it_down(core, database, head):
    card = card_of(core, await request_removal(core, database, poster=None, location="parent"))
    await core.handle(press(HEAD, button(card, actions.REMOVAL_APPROVE)))
    [notice] = await notifications(database, "removal_notice")
    assert notice.recipient_role == repo.HEADTEACHER
    assert decision_texts.NOTICE_INTRO_FOR_HEADTEACHER in card_of(core, notice).text


async def test_an_overdue_removal_reminds_the_poster_and_the_headteacher(core, database, head):
    card = card_of(core, await request_removal(core, database))
    await core.handle(press(HEAD, button(card, actions.REMOVAL_APPROVE)))
    await notifications(database)
    now = datetime.now(UTC)
    assert await core.send_reminders(now=now + timedelta(hours=23)) == 0
    assert await core.send_reminders(now=now + timedelta(hours=25)) >= 1
    overdue = await notifications(database, "removal_overdue")
    assert sorted((n.recipient_role or n.recipient_user_id) for n in overdue) == ["U2POSTER", "headteacher"]
    assert await core.send_reminders(now=now + timedelta(hours=30)) == 0


async def test_the_headteacher_sends_a_notice_directly_to_the_school_accounts_role(core, database, head):
    accounts = ConversationRef(platform="slack", conversation_id="D3", user_id="U3ACC")
    await assign(database, repo.SCHOOL_ACCOUNTS, accounts)
    [form_reply] = await core.handle(as_person(HEAD, text="remove: the tweet about the trip"))
    form = form_reply.form
    assert form.title == decision_texts.NOTICE_FORM_TITLE and form.fields[0].initial == "the tweet about the trip"
    [sent] = await core.handle(send_form(HEAD, form, {"content": "the tweet about the trip", "location": "school_account"}))
    assert sent.in_form
    [notice] = await notifications(database, "removal_notice")
    assert notice.recipient_role == repo.SCHOOL_ACCOUNTS
    thanks, _ = await core.handle(press(accounts, button(card_of(core, notice), actions.REMOVAL_DONE)))
    assert thanks.text == decision_texts.REMOVED_THANKS


async def test_the_overview_shows_each_person_what_waits_for_them(core, database, head):
    await ask_question(core, database)
    await request_removal(core, database)
    replies = await core.handle(as_person(HEAD, text="dashboard"))
    assert replies[0].title == decision_texts.DASHBOARD_TITLE
    action_ids = {b.action_id for r in replies for b in r.buttons}
    assert {actions.QUESTION_FINE, actions.REMOVAL_APPROVE} <= action_ids

    mine = await core.handle(as_person(STAFF, text="dashboard"))
    assert not {actions.QUESTION_FINE, actions.REMOVAL_APPROVE} & {b.action_id for r in mine for b in r.buttons}
    assert QUESTION in mine[-1].text

    home = await core.home(conversation=HEAD)
    assert home[0].title and any(b.action_id == actions.REMOVAL_APPROVE for r in home for b in r.buttons)


async def test_every_notification_kind_has_a_message():
    for kind in ("escalation_opened", "escalation_reminder", "escalation_waiting", "escalation_answered",
                 "removal_requested", "removal_notice", "removal_overdue", "removal_decided", "removal_done"):
        assert kind in NOTIFICATIONS
