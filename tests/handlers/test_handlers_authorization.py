"""Who may use each button and form is checked on the server against the stored roles, whatever the
(signed) value says: a click or form replayed by someone else is refused, and nobody acts on a case about
themselves (a report about the headteacher, a question they asked, a removal of their own post).

Each flow's check (CLICK_FLOWS / FORM_FLOWS in handlers/core.py):
  anyone              feedback, start a report, "I've noted it", follow up, start a removal, the dashboard
                      (it shows each person their own), the report and "Ask the headteacher" forms
  the asker only      "Ask the headteacher" under an answer (the signed value names the asker)
  the code and secret the follow-up form and the reporter's "add more" form (a sealed token)
  case handlers       acknowledge, reply, close, read in full, the reply and close forms: the roles the case
                      went to, never the headteacher on a case about them
  deciders            the three answers to a question and their form, approve / reject a removal and its form:
                      the headteacher or a deputy, never on their own question or a removal of their own post
  whoever must act    "Removed": a decider, the role holder asked, or the named poster
"""

from __future__ import annotations

import pytest
from handler_helpers import count
from sqlmodel import select

from handlers import actions, decision_texts, report_texts
from handlers.core import CLICK_FLOWS, FORM_FLOWS
from handlers.messages import PERSON_PREFIX, ButtonClick, ConversationRef, FormSubmission, IncomingMessage
from storage import repository as repo
from storage.models import Escalation, Notification, RemovalRequest, ReportCase

HEAD = ConversationRef(platform="slack", conversation_id="DHEAD", user_id="U0HEAD", user_name="Mrs Patel")
DEPUTY = ConversationRef(platform="teams", conversation_id="a:deputy", user_id="29:deputy", user_name="Mr Khan")
CHAIR = ConversationRef(platform="slack", conversation_id="DCHAIR", user_id="U0CHAIR")
STAFF = ConversationRef(platform="slack", conversation_id="D1", user_id="U1", user_name="Sam Jones")


def as_person(person, *, text="", click=None, form=None):
    return IncomingMessage(conversation=person, is_direct=True, text=text, click=click, form=form, form_here=True)


def press(person, button, *, message_id="card-1"):
    return as_person(person, click=ButtonClick(action_id=button.action_id, value=button.value, message_id=message_id))


def send_form(person, form, values):
    return as_person(person, form=FormSubmission(form_id=form.form_id, values=values, private_metadata=form.private_metadata))


def button(reply, action_id):
    return next(b for b in reply.buttons if b.action_id == action_id)


async def assign(database, role, person):
    async with database.transaction() as session:
        await repo.assign_role(session=session, role=role, platform=person.platform, user_id=person.user_id,
                               display_name=person.user_name)


async def delivered(core, database, kind):
    async with database.transaction() as session:
        claimed = await repo.claim_notifications(session=session, worker_id="test", limit=100)
        for item in claimed:
            await repo.mark_delivered(session=session, notification_id=item.id, worker_id="test")
    return [core._notification_message(item) for item in claimed if item.kind == kind]


@pytest.fixture
async def deciders(database):
    await assign(database, repo.HEADTEACHER, HEAD)
    await assign(database, repo.DEPUTY_HEADTEACHER, DEPUTY)
    await assign(database, repo.CHAIR_OF_GOVERNORS, CHAIR)


async def question_from(core, database, person):
    [sent] = await core.handle(as_person(person, text="ask the head: may I post the fair photos?"))
    assert sent.title.startswith("Question sent")
    [card] = await delivered(core, database, "escalation_opened")
    return card


async def removal_request(core, database, *, poster: ConversationRef):
    [form_reply] = await core.handle(as_person(STAFF, text="remove"))
    values = {"content": "The post on the staff page", "location": "colleague", "poster": f"{PERSON_PREFIX}{poster.user_id}"}
    [sent] = await core.handle(send_form(STAFF, form_reply.form, values))
    assert sent.in_form
    [card] = await delivered(core, database, "removal_requested")
    return card


def test_every_flow_is_accounted_for_in_the_audit_above():
    audited = set(actions.ALL) | {
        actions.REPORT_FORM, actions.FOLLOW_UP_FORM, actions.REPORTER_MESSAGE_FORM, actions.CASE_REPLY_FORM,
        actions.CASE_CLOSE_FORM, actions.ASK_FORM, actions.QUESTION_DECISION_FORM, actions.REMOVAL_FORM,
        actions.REMOVAL_REJECT_FORM,
    }
    assert set(CLICK_FLOWS) | set(FORM_FLOWS) == audited


async def test_another_persons_decision_replayed_with_the_same_signed_value_is_refused(core, database, deciders):
    card = await question_from(core, database, STAFF)
    fine = button(card, actions.QUESTION_FINE)
    [form_reply] = await core.handle(press(HEAD, fine))
    # The member of staff replays both the click and the headteacher's form, signatures and all.
    [refused] = await core.handle(press(STAFF, fine))
    assert refused.text == decision_texts.NOT_A_DECIDER.format(headteacher="Mrs Patel") and refused.form is None
    [refused] = await core.handle(send_form(STAFF, form_reply.form, {"note": "Go ahead"}))
    assert refused.text == decision_texts.NOT_A_DECIDER.format(headteacher="Mrs Patel") and refused.in_form
    async with database.transaction() as session:
        [escalation] = (await session.exec(select(Escalation))).all()
    assert escalation.status == "open"

    removal = await removal_request(core, database, poster=ConversationRef(platform="slack", conversation_id="", user_id="U2"))
    for action_id in (actions.REMOVAL_APPROVE, actions.REMOVAL_REJECT):
        [refused] = await core.handle(press(STAFF, button(removal, action_id)))
        assert refused.text == decision_texts.NOT_A_DECIDER.format(headteacher="Mrs Patel")
    async with database.transaction() as session:
        [request] = (await session.exec(select(RemovalRequest))).all()
    assert request.status == "pending"


async def test_a_case_about_the_headteacher_refuses_the_headteachers_clicks_and_forms(core, database, deciders):
    [offer, *_] = await core.handle(as_person(STAFF, text="I want to report harassment"))
    [form_reply] = await core.handle(press(STAFF, button(offer, actions.START_REPORT)))
    values = {"what": "The headteacher posted about me", "kind": "harassment_me", "about_headteacher": "true"}
    await core.handle(send_form(STAFF, form_reply.form, values))
    [card] = await delivered(core, database, repo.CASE_OPENED)
    queued = await count(database, Notification)
    for action_id in (actions.CASE_ACKNOWLEDGE, actions.CASE_REPLY, actions.CASE_CLOSE, actions.CASE_READ):
        [refused] = await core.handle(press(HEAD, button(card, action_id)))
        assert refused.text == report_texts.NOT_YOURS
    # Nor with the chair's own reply form, replayed.
    [reply_form] = await core.handle(press(CHAIR, button(card, actions.CASE_REPLY)))
    [refused] = await core.handle(send_form(HEAD, reply_form.form, {"reply": "It was a joke"}))
    assert refused.text == report_texts.NOT_YOURS
    assert await count(database, Notification) == queued
    async with database.transaction() as session:
        [case] = (await session.exec(select(ReportCase))).all()
    assert case.status == repo.OPEN


async def test_a_deputy_may_not_answer_their_own_question(core, database, deciders):
    card = await question_from(core, database, DEPUTY)
    for action_id in (actions.QUESTION_FINE, actions.QUESTION_DONT, actions.QUESTION_TALK):
        [refused] = await core.handle(press(DEPUTY, button(card, action_id)))
        assert refused.text == decision_texts.OWN_QUESTION and refused.form is None
    # The form, opened by the headteacher and replayed by the deputy, is refused too.
    [form_reply] = await core.handle(press(HEAD, button(card, actions.QUESTION_FINE)))
    [refused] = await core.handle(send_form(DEPUTY, form_reply.form, {"note": ""}))
    assert refused.text == decision_texts.OWN_QUESTION and refused.in_form
    [sent, *_] = await core.handle(send_form(HEAD, form_reply.form, {"note": ""}))
    assert "Fine to post" in sent.text


async def test_a_decider_may_not_decide_the_removal_of_their_own_post(core, database, deciders):
    card = await removal_request(core, database, poster=HEAD)
    for action_id in (actions.REMOVAL_APPROVE, actions.REMOVAL_REJECT):
        [refused] = await core.handle(press(HEAD, button(card, action_id)))
        assert refused.text == decision_texts.OWN_POST and refused.form is None
    [reject_form] = await core.handle(press(DEPUTY, button(card, actions.REMOVAL_REJECT)))
    [refused] = await core.handle(send_form(HEAD, reject_form.form, {"reason": "It's fine"}))
    assert refused.text == decision_texts.OWN_POST and refused.in_form
    async with database.transaction() as session:
        [request] = (await session.exec(select(RemovalRequest))).all()
    assert request.status == "pending"
    # The deputy decides it.
    said, _card = await core.handle(press(DEPUTY, button(card, actions.REMOVAL_APPROVE)))
    assert "Approved by Mr Khan" in said.text


async def test_with_no_other_decider_the_asker_may_answer_their_own_question(core, database):
    """The terminal's lone user is the headteacher: nobody else could ever answer."""
    await assign(database, repo.HEADTEACHER, HEAD)
    card = await question_from(core, database, HEAD)
    [form_reply] = await core.handle(press(HEAD, button(card, actions.QUESTION_FINE)))
    [sent, *_] = await core.handle(send_form(HEAD, form_reply.form, {"note": ""}))
    assert "Fine to post" in sent.text
