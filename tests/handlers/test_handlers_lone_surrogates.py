"""A lone UTF-16 surrogate ("\\ud83d" without its pair, which a platform's JSON can carry) reaches no flow:
the core makes incoming text safe (U+FFFD in its place), so questions, reports and names still store
and hash; a whole pair is kept as the character it makes."""

from __future__ import annotations

import dataclasses

from handler_helpers import count, dm
from sqlmodel import select

from handlers import actions, texts
from handlers.messages import ButtonClick, ConversationRef, FormSubmission, IncomingMessage
from storage import repository as repo
from storage.models import Escalation

LONE = "\ud83d"
QUESTION = f"Can I post this {LONE} photo of the fair?"
SAFE_QUESTION = "Can I post this \ufffd photo of the fair?"


async def assign_headteacher(database) -> None:
    async with database.transaction() as session:
        await repo.assign_role(session=session, role=repo.HEADTEACHER, platform="slack", user_id="U0HEAD", display_name="Mrs Patel")


async def stored_questions(database) -> list[str]:
    async with database.transaction() as session:
        rows = (await session.exec(select(Escalation))).all()
        return [(await repo.get_escalation(session=session, escalation_id=row.id)).question for row in rows]


async def test_a_typed_question_with_a_lone_surrogate_reaches_the_headteacher(core, database):
    await assign_headteacher(database)
    [sent] = await core.handle(dm(f"ask the head: {QUESTION}"))
    assert sent.title == texts.ASK_HEADTEACHER_SENT_TITLE.format(headteacher="Mrs Patel")
    assert await stored_questions(database) == [SAFE_QUESTION]


async def test_the_ask_button_under_an_answer_to_such_a_question_still_works(core, database):
    await assign_headteacher(database)
    [answer] = await core.handle(dm(QUESTION))
    button = next(b for b in answer.buttons if b.action_id == actions.ASK_HEADTEACHER)
    [sent] = await core.handle(dm(click=ButtonClick(action_id=button.action_id, value=button.value, message_id="1.2"), event_id="A1"))
    assert sent.title == texts.ASK_HEADTEACHER_SENT_TITLE.format(headteacher="Mrs Patel")
    assert await stored_questions(database) == [SAFE_QUESTION]


async def test_the_ask_form_a_name_and_a_report_with_lone_surrogates_are_stored(core, database):
    await assign_headteacher(database)
    [opened] = await core.handle(dm("ask the head"))
    person = ConversationRef(platform="slack", conversation_id="D1", user_id="U1", user_name=f"Sam {LONE}Jones")
    submitted = FormSubmission(form_id=opened.form.form_id, values={"question": QUESTION, "draft": "\udc00 draft"},
                               private_metadata=opened.form.private_metadata)
    [sent] = await core.handle(IncomingMessage(conversation=person, is_direct=True, form=submitted, form_here=True))
    assert sent.in_form and sent.title == texts.ASK_HEADTEACHER_SENT_TITLE.format(headteacher="Mrs Patel")
    async with database.transaction() as session:
        [row] = (await session.exec(select(Escalation))).all()
        escalation = await repo.get_escalation(session=session, escalation_id=row.id)
    assert (escalation.question, escalation.draft, escalation.requester_name) == (SAFE_QUESTION, "\ufffd draft", "Sam \ufffdJones")

    [form_reply, *_] = await core.handle(dm("I want to report harassment"))
    start = next(b for b in form_reply.buttons if b.action_id == actions.START_REPORT)
    [form] = await core.handle(dataclasses.replace(dm(click=ButtonClick(action_id=start.action_id, value=start.value)), form_here=True))
    report = FormSubmission(form_id=form.form.form_id, values={"what": f"A parent {LONE} keeps messaging me", "kind": "harassment_me"},
                            private_metadata=form.form.private_metadata)
    [done] = await core.handle(dataclasses.replace(dm(), form=report, form_here=True))
    assert done.in_form and "secret" in done.text.lower()


async def test_a_whole_surrogate_pair_is_kept_as_its_character(core, database):
    await assign_headteacher(database)
    await core.handle(dm("ask the head: may I post \ud83d\ude00 this?"))
    assert await stored_questions(database) == ["may I post 😀 this?"]
    assert await count(database, Escalation) == 1
