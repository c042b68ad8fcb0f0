"""Button values and form metadata carry the bot's signature, and the core believes nothing else: an
altered, unsigned (from before the upgrade) or moved value is refused with a friendly text and changes
nothing. Every button and form the core hands out (answers, forms, the home page, outbox notifications)
is signed, and the biggest values still fit Slack's limits once signed."""

from __future__ import annotations

import json

import pytest
from handler_helpers import count
from sqlmodel import select

from handlers import actions, texts
from handlers.messages import ButtonClick, ConversationRef, FormSubmission, IncomingMessage, Reply
from handlers.signing import Signer
from storage import repository as repo
from storage.crypto import Cipher
from storage.models import Escalation, Notification

HEAD = ConversationRef(platform="teams", conversation_id="a:head", user_id="29:head", user_name="Mrs Patel")
STAFF = ConversationRef(platform="slack", conversation_id="D1", user_id="U1", user_name="Sam Jones")
SLACK_VALUE_MAX = 2000
SLACK_METADATA_MAX = 3000
LONE = "\ud83d"


def as_person(person, *, text="", click=None, form=None, event_id=""):
    return IncomingMessage(conversation=person, is_direct=True, text=text, click=click, form=form, event_id=event_id, form_here=True)


def press(person, action_id, value, *, message_id="card-1"):
    return as_person(person, click=ButtonClick(action_id=action_id, value=value, message_id=message_id))


def send_form(person, form_id, metadata, values):
    return as_person(person, form=FormSubmission(form_id=form_id, values=values, private_metadata=metadata))


def button(reply, action_id):
    return next(b for b in reply.buttons if b.action_id == action_id)


@pytest.fixture
async def head(database):
    async with database.transaction() as session:
        await repo.assign_role(session=session, role=repo.HEADTEACHER, platform=HEAD.platform, user_id=HEAD.user_id,
                               display_name="Mrs Patel")


async def opened_notification(core, database):
    [answer] = await core.handle(as_person(STAFF, text="Can I post the sports day photos?"))
    ask = button(answer, actions.ASK_HEADTEACHER)
    await core.handle(press(STAFF, ask.action_id, ask.value, message_id="D1:9.9"))
    async with database.transaction() as session:
        [opened] = await repo.claim_notifications(session=session, worker_id="test")
    return opened


async def question_card(core, database) -> Reply:
    return core._notification_message(await opened_notification(core, database))


async def answered_notifications(database) -> int:
    return await count(database, Notification) - 1  # the question's own notification to the headteacher


def assert_signed(signer: Signer, reply: Reply) -> None:
    for b in reply.buttons:
        assert signer.button_value(action_id=b.action_id, signed=b.value) is not None, b.action_id
    if reply.form is not None:
        assert signer.form_metadata(form_id=reply.form.form_id, signed=reply.form.private_metadata) is not None


async def test_every_button_and_form_the_core_hands_out_is_signed(core, database, head):
    signer = core.signer
    replies = [
        *await core.handle(as_person(STAFF, text="help")),
        *await core.handle(as_person(STAFF, text="Can I post the sports day photos?")),
        *await core.handle(as_person(STAFF, text="I am being harassed by a parent")),
        *await core.handle(as_person(STAFF, text="ask the head")),
        *await core.handle(as_person(STAFF, text="remove")),
        *await core.handle(as_person(HEAD, text="dashboard")),
        *await core.home(conversation=HEAD),
        await question_card(core, database),
    ]
    assert sum(len(reply.buttons) for reply in replies) >= 10 and sum(reply.form is not None for reply in replies) >= 2
    for reply in replies:
        assert_signed(signer, reply)
    # The help card's "{}" buttons are signed too: an empty value is no exception.
    assert all(b.value != "{}" and b.value.endswith(".{}") for b in replies[0].buttons)


async def test_outbox_notifications_are_signed_as_delivered(core, database, head):
    notification = await opened_notification(core, database)
    sent: list[Reply] = []

    async def sender(*, user_id, reply):
        sent.append(reply)

    await core.deliver(notification, senders={"teams": sender})
    [card] = sent
    assert card.buttons and card.delivery_key == f"notification-{notification.id}"
    assert_signed(core.signer, card)


async def test_a_doctored_decision_form_is_refused_and_changes_nothing(core, database, head):
    card = await question_card(core, database)
    fine = button(card, actions.QUESTION_FINE)
    [opened] = await core.handle(press(HEAD, fine.action_id, fine.value))
    form = opened.form
    # The Teams client sends the form's data back: someone swaps the decision the headteacher chose.
    doctored = form.private_metadata.replace('"fine"', '"dont_post"')
    assert doctored != form.private_metadata
    [refused] = await core.handle(send_form(HEAD, form.form_id, doctored, {"note": "ok"}))
    assert refused.text == texts.FORM_CHANGED and refused.in_form and refused.private
    async with database.transaction() as session:
        [escalation] = (await session.exec(select(Escalation))).all()
    assert escalation.status == "open" and escalation.decision is None
    assert await answered_notifications(database) == 0

    # The form as issued still works afterwards.
    [sent, *_] = await core.handle(send_form(HEAD, form.form_id, form.private_metadata, {"note": "ok"}))
    assert "Fine to post" in sent.text


async def test_a_doctored_button_value_is_refused(core, database, head):
    card = await question_card(core, database)
    fine = button(card, actions.QUESTION_FINE)
    digest, _, value = fine.value.partition(".")
    other = json.dumps({"escalation": json.loads(value)["escalation"] + 1})
    for forged in (f"{digest}.{other}", other, "", "not json", f"{'A' * 43}.{value}", f"{'é' * 43}.{value}", f"{LONE * 43}.{value}"):
        [refused] = await core.handle(press(HEAD, fine.action_id, forged))
        assert refused.text == texts.BUTTON_CHANGED and refused.private and refused.form is None


async def test_a_value_from_before_the_upgrade_is_refused_safely(core, database, head):
    """Cards sent by an earlier version carry unsigned values: refused with the same words, not obeyed."""
    await question_card(core, database)
    [refused] = await core.handle(press(HEAD, actions.QUESTION_FINE, json.dumps({"escalation": 1})))
    assert refused.text == texts.BUTTON_CHANGED
    [refused] = await core.handle(as_person(STAFF, click=ButtonClick(action_id=actions.START_REPORT, value="{}")))
    assert refused.text == texts.BUTTON_CHANGED and refused.form is None
    [refused] = await core.handle(send_form(STAFF, actions.REPORT_FORM, "", {"what": "x", "kind": "harassment_me"}))
    assert refused.text == texts.FORM_CHANGED and refused.in_form


async def test_a_value_signed_for_one_button_or_form_does_not_work_on_another(core, database, head):
    card = await question_card(core, database)
    talk = button(card, actions.QUESTION_TALK)  # the three answers carry the same data, each signed for itself
    [refused] = await core.handle(press(HEAD, actions.QUESTION_FINE, talk.value))
    assert refused.text == texts.BUTTON_CHANGED
    [opened] = await core.handle(press(HEAD, talk.action_id, talk.value))
    [refused] = await core.handle(send_form(HEAD, actions.REMOVAL_REJECT_FORM, opened.form.private_metadata, {"reason": "x"}))
    assert refused.text == texts.FORM_CHANGED
    # Nor does a button's signature make a form's metadata.
    [refused] = await core.handle(send_form(HEAD, actions.QUESTION_DECISION_FORM, talk.value, {"note": ""}))
    assert refused.text == texts.FORM_CHANGED


def test_another_servers_key_does_not_verify():
    ours, theirs = Signer.from_cipher(Cipher(b"k" * 32)), Signer.from_cipher(Cipher(b"j" * 32))
    value = ours.sign_button(action_id=actions.CASE_READ, value='{"case":"K7QP-3XMD"}')
    assert ours.button_value(action_id=actions.CASE_READ, signed=value) == '{"case":"K7QP-3XMD"}'
    assert theirs.button_value(action_id=actions.CASE_READ, signed=value) is None
    assert ours.form_metadata(form_id=actions.CASE_READ, signed=value) is None


async def test_the_biggest_values_still_fit_slack_once_signed(core, database, head, advisor):
    # The longest question, made of what JSON escapes most and of characters outside the BMP.
    question = ('"\\<😀' * 2500)[:10_000]
    [answer] = await core.handle(as_person(STAFF, text=question))
    ask = button(answer, actions.ASK_HEADTEACHER)
    assert len(ask.value) <= SLACK_VALUE_MAX
    about = json.loads(core.signer.button_value(action_id=ask.action_id, signed=ask.value))
    assert about["question"].endswith("…") and about["asker"] == "U1"
    # The largest form metadata: a decision form naming a long Teams message id.
    card = await question_card(core, database)
    fine = button(card, actions.QUESTION_FINE)
    [opened] = await core.handle(press(HEAD, fine.action_id, fine.value, message_id="1:" + "x" * 200))
    assert len(opened.form.private_metadata) <= SLACK_METADATA_MAX


async def test_the_slack_removal_shortcut_value_is_taken_as_what_the_person_pointed_at(core, database):
    """The message shortcut's value is made by the adapter from the message it was pressed on, like the
    words of `remove: …`: it only fills in the form the person then sends, so it needs no signature."""
    value = actions.encode({"text": "The photo of class 3", "link": "", "poster_platform": "slack", "poster_user_id": "U2"})
    [form_reply] = await core.handle(press(STAFF, actions.REMOVAL_START, value, message_id=""))
    assert form_reply.form.fields[0].initial == "The photo of class 3"
    assert_signed(core.signer, form_reply)
    assert await count(database, Notification) == 0
