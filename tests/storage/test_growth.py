"""Nothing grows without bound: one feedback per answer per person, and what is kept about people and
events goes when it is no longer needed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, update
from sqlmodel import select

from handlers import actions, ask, texts
from handlers.messages import ButtonClick, ConversationRef, IncomingMessage
from storage import repository as repo
from storage.models import ConversationReference, Feedback, ProcessedEvent
from storage.repository._common import utcnow

ANSWER = {"situation": "photos_of_pupils", "verdict": "not_allowed"}


async def _feedback(db, *, helpful: bool = True, answer_id: str = "D0BOTDM01:1764072000.000100", user_id: str = "U07ASKER") -> repo.FeedbackResult:
    async with db.transaction() as session:
        return await repo.record_feedback(
            session=session, **ANSWER, helpful=helpful, platform="slack", answer_id=answer_id, user_id=user_id
        )


async def _rows(db, model) -> int:
    async with db.transaction() as session:
        return (await session.exec(select(func.count()).select_from(model))).one()


async def test_one_person_clicking_helpful_600_times_is_one_feedback(db):
    first = await _feedback(db)
    repeats = [await _feedback(db) for _ in range(599)]
    assert first.outcome == repo.FEEDBACK_NEW
    assert {result.outcome for result in repeats} == {repo.FEEDBACK_REPEATED}
    assert {result.feedback_id for result in repeats} == {first.feedback_id}
    assert await _rows(db, Feedback) == 1


async def test_changing_ones_mind_changes_the_feedback_and_adds_none(db):
    first = await _feedback(db, helpful=True)
    changed = await _feedback(db, helpful=False)
    assert (changed.outcome, changed.feedback_id) == (repo.FEEDBACK_CHANGED, first.feedback_id)
    async with db.transaction() as session:
        [row] = (await session.exec(select(Feedback))).all()
    assert row.helpful is False


async def test_each_person_and_each_answer_counts_once(db):
    await _feedback(db, user_id="U07ASKER")
    await _feedback(db, user_id="U07COLLEAGUE")
    await _feedback(db, user_id="U07ASKER", answer_id="D0BOTDM01:1764072999.000200")
    await _feedback(db, user_id="U07ASKER")
    assert await _rows(db, Feedback) == 3


async def test_feedback_keeps_no_trace_of_who_gave_it_or_on_which_message(db):
    await _feedback(db, user_id="U07ASKER", answer_id="D0BOTDM01:1764072000.000100")
    async with db.transaction() as session:
        [row] = (await session.exec(select(Feedback))).all()
    stored = repr(row.model_dump())
    assert not any(word in stored for word in ("U07ASKER", "D0BOTDM01", "1764072000"))


def _click(*, helpful: bool, message_id: str | None, user_id: str = "U07ASKER") -> IncomingMessage:
    action = actions.FEEDBACK_HELPFUL if helpful else actions.FEEDBACK_NOT_HELPFUL
    return IncomingMessage(
        conversation=ConversationRef(platform="slack", conversation_id="D0BOTDM01", user_id=user_id),
        is_direct=True,
        click=ButtonClick(action_id=action, value=actions.encode(ANSWER), message_id=message_id),
    )


async def _click_feedback(db, message: IncomingMessage, *, helpful: bool) -> str:
    async with db.transaction() as session:
        reply = await ask.record_feedback(session=session, repo=repo, message=message, helpful=helpful, headteacher="Mrs Patel")
    return reply.text


async def test_a_second_click_on_the_same_answer_says_it_was_already_counted(db):
    click = _click(helpful=True, message_id="D0BOTDM01:1764072000.000100")
    assert await _click_feedback(db, click, helpful=True) == texts.FEEDBACK_THANKS_HELPFUL
    assert await _click_feedback(db, click, helpful=True) == texts.FEEDBACK_ALREADY_COUNTED
    changed = await _click_feedback(db, _click(helpful=False, message_id="D0BOTDM01:1764072000.000100"), helpful=False)
    assert changed.startswith(texts.FEEDBACK_CHANGED)
    assert await _rows(db, Feedback) == 1


async def test_a_click_without_a_message_id_still_counts_once(db):
    # The terminal (and a button the platform did not place) gives no message id: the answer is what it was about.
    for _ in range(3):
        await _click_feedback(db, _click(helpful=True, message_id=None), helpful=True)
    assert await _rows(db, Feedback) == 1


# --- Retention --------------------------------------------------------------------------------------


async def _age(db, model, *, days: int, column) -> None:
    async with db.transaction() as session:
        await session.exec(update(model).values({column: utcnow() - timedelta(days=days)}))


async def test_purge_removes_event_digests_after_a_week(db):
    async with db.transaction() as session:
        await repo.claim_event(session=session, platform="slack", event_id="EvOld")
    await _age(db, ProcessedEvent, days=8, column="processed_at")
    async with db.transaction() as session:
        await repo.claim_event(session=session, platform="slack", event_id="EvNew")
        report = await repo.purge_expired(session=session, retention_days=365)
    assert report.processed_events == 1
    assert await _rows(db, ProcessedEvent) == 1


async def _remember(db, user_id: str) -> None:
    async with db.transaction() as session:
        await repo.save_conversation_reference(
            session=session, platform="teams", user_id=user_id, conversation_id=f"a:{user_id}", reference={"user": {"id": user_id}}
        )


async def test_references_of_people_silent_for_a_year_are_purged_unless_they_hold_a_role(db):
    for user_id in ("29:gone", "29:head", "29:active"):
        await _remember(db, user_id)
    async with db.transaction() as session:
        await repo.assign_role(session=session, role="headteacher", platform="teams", user_id="29:head")
        await session.exec(
            update(ConversationReference)
            .where(ConversationReference.user_id != "29:active")
            .values(updated_at=utcnow() - timedelta(days=repo.REFERENCE_IDLE_DAYS + 1))
        )
    async with db.transaction() as session:
        report = await repo.purge_expired(session=session, retention_days=30)
    assert report.conversation_references == 1
    async with db.transaction() as session:
        kept = set((await session.exec(select(ConversationReference.user_id))).all())
        assert await repo.get_conversation_reference(session=session, platform="teams", user_id="29:gone") is None
    assert kept == {"29:head", "29:active"}


async def test_writing_again_keeps_a_reference_from_the_purge(db):
    await _remember(db, "29:back")
    await _age(db, ConversationReference, days=repo.REFERENCE_IDLE_DAYS + 1, column="updated_at")
    await _remember(db, "29:back")
    async with db.transaction() as session:
        report = await repo.purge_expired(session=session, retention_days=30)
    assert report.conversation_references == 0
