import dataclasses

from handlers import actions, texts
from handlers.messages import ButtonClick, ConversationRef
from policy_kb.answer import Verdict
from storage.models import ConversationReference, Feedback, Notification, ProcessedEvent
from storage import repository as repo
from handler_helpers import PHOTOS, count, dm, signed_click


def buttons_by_action(reply):
    return {button.action_id: button for button in reply.buttons}


async def test_a_question_gets_verdict_reason_clauses_and_next_steps(core, advisor):
    [reply] = await core.handle(dm("  Can I post the sports day photos?  ", event_id="Ev1"))
    assert advisor.questions == ["Can I post the sports day photos?"]
    assert reply.verdict == "not_allowed"
    assert (reply.icon, reply.title) == texts.VERDICT_HEADINGS["not_allowed"]
    assert PHOTOS.answer in reply.text and "• Delete the photo from your account." in reply.text
    assert [(q.section, q.text) for q in reply.quotes] == [("Photographs and videos", "Staff must not post images of pupils.")]
    assert reply.facts[0].value == "Can I post the sports day photos?"
    assert list(buttons_by_action(reply)) == [actions.ASK_HEADTEACHER, actions.FEEDBACK_HELPFUL, actions.FEEDBACK_NOT_HELPFUL]


async def test_plainly_allowed_has_no_headteacher_button_but_unsure_always_does(core, advisor):
    advisor.answer = dataclasses.replace(PHOTOS, verdict=Verdict.ALLOWED)
    [reply] = await core.handle(dm("Can I like the school's page?"))
    assert actions.ASK_HEADTEACHER not in buttons_by_action(reply)

    advisor.answer = dataclasses.replace(PHOTOS, verdict=Verdict.ALLOWED, confident=False)
    [reply] = await core.handle(dm("Can I do the thing?"))
    assert actions.ASK_HEADTEACHER in buttons_by_action(reply)
    assert reply.text.startswith(texts.NOT_CONFIDENT.format(headteacher="Mrs Patel"))


async def test_help_empty_and_private_answers(core, advisor):
    [help_reply] = await core.handle(dm("help"))
    assert "Mrs Patel" in help_reply.text and help_reply.title == texts.HELP_TITLE
    [empty] = await core.handle(dm("   "))
    assert empty.text == texts.EMPTY_QUESTION
    assert advisor.questions == []
    [private] = await core.handle(dm("Can I post this?", private=True, direct=False))
    assert private.private


async def test_report_words_offer_the_report_button_and_the_policy_answer(core, advisor):
    advisor.answer = dataclasses.replace(PHOTOS, verdict=Verdict.REPORT)
    offer, answer = await core.handle(dm("A parent is harassing me on Facebook"))
    assert list(buttons_by_action(offer)) == [actions.START_REPORT]
    assert answer.verdict == "report"
    # A DM message cannot open a form on every platform: the button then says where it is.
    start = buttons_by_action(offer)[actions.START_REPORT]
    [button] = await core.handle(dm(click=ButtonClick(action_id=start.action_id, value=start.value)))
    assert list(buttons_by_action(button)) == [actions.START_REPORT] and button.form is None


async def test_a_repeated_event_is_answered_once(core, database):
    assert len(await core.handle(dm("Can I post this?", event_id="EvSame"))) == 1
    assert await core.handle(dm("Can I post this?", event_id="EvSame")) == []
    assert await count(database, ProcessedEvent) == 1


async def test_feedback_is_stored_without_the_askers_identity(core, database):
    [reply] = await core.handle(dm("Can I post the sports day photos?"))
    helpful = buttons_by_action(reply)[actions.FEEDBACK_HELPFUL]
    [thanks] = await core.handle(dm(click=ButtonClick(action_id=helpful.action_id, value=helpful.value), event_id="A1"))
    assert thanks.text == texts.FEEDBACK_THANKS_HELPFUL
    async with database.transaction() as session:
        [row] = (await session.exec(Feedback.__table__.select())).all()
    assert (row.situation, row.verdict, row.helpful) == ("photos_of_pupils", "not_allowed", True)
    assert "U1" not in repr(tuple(row)) and "D1" not in repr(tuple(row))


async def test_stale_or_malformed_buttons_get_a_friendly_message_and_store_nothing(core, database):
    # Signed, so past the core's check (tests/handlers/test_handlers_signing.py): the flows check values too.
    for click in (
        signed_click(core, actions.FEEDBACK_HELPFUL, "garbage"),
        signed_click(core, actions.FEEDBACK_HELPFUL, '{"verdict": "made_up"}'),
        signed_click(core, actions.ASK_HEADTEACHER, '{"verdict": "allowed", "question": "  "}'),
        signed_click(core, "not.ours", ""),
    ):
        [reply] = await core.handle(dm(click=click))
        assert reply.text == texts.BUTTON_EXPIRED and reply.private
    assert await count(database, Feedback) == 0
    assert await count(database, Notification) == 0


async def test_a_failing_flow_rolls_back_its_claim_and_apologises(core, advisor, database):
    def broken(question):
        raise RuntimeError("boom")

    advisor.ask = broken
    [reply] = await core.handle(dm("Can I post?", event_id="EvBroken"))
    assert reply.text == texts.SOMETHING_WENT_WRONG.format(headteacher="Mrs Patel")
    assert await count(database, ProcessedEvent) == 0


async def test_remember_conversation_stores_the_reference(core, database):
    ref = ConversationRef(platform="teams", conversation_id="a:1", user_id="29:1", raw={"serviceUrl": "http://x"})
    await core.remember_conversation(ref=ref)
    async with database.transaction() as session:
        assert await repo.get_conversation_reference(session=session, platform="teams", user_id="29:1") == {"serviceUrl": "http://x"}
    assert await count(database, ConversationReference) == 1
