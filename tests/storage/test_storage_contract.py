"""The five functions other areas were promised, with their exact keyword-only signatures."""

from __future__ import annotations

import inspect

import pytest

from storage import repository as repo
from storage.models import Feedback


@pytest.mark.parametrize(
    "function",
    [repo.claim_event, repo.save_conversation_reference, repo.get_conversation_reference, repo.record_feedback, repo.enqueue_notification],
)
def test_contract_functions_take_keyword_only_arguments(function):
    parameters = inspect.signature(function).parameters.values()
    assert all(parameter.kind is inspect.Parameter.KEYWORD_ONLY for parameter in parameters)


async def test_claim_event_is_true_once_per_platform_and_id(db):
    async with db.transaction() as session:
        assert await repo.claim_event(session=session, platform="slack", event_id="Ev123") is True
        assert await repo.claim_event(session=session, platform="slack", event_id="Ev123") is False
        assert await repo.claim_event(session=session, platform="teams", event_id="Ev123") is True
    async with db.transaction() as session:
        assert await repo.claim_event(session=session, platform="slack", event_id="Ev123") is False
        assert await repo.claim_event(session=session, platform="slack", event_id="Ev124") is True


async def test_a_rolled_back_claim_lets_the_event_be_processed_again(db):
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            assert await repo.claim_event(session=session, platform="slack", event_id="EvFail")
            raise RuntimeError("the side effect failed")
    async with db.transaction() as session:
        assert await repo.claim_event(session=session, platform="slack", event_id="EvFail") is True


async def test_conversation_reference_round_trip_and_latest_wins(db):
    reference = {"conversation": {"id": "a:1"}, "serviceUrl": "https://smba.example/", "user": {"id": "29:1"}}
    async with db.transaction() as session:
        assert await repo.get_conversation_reference(session=session, platform="teams", user_id="29:1") is None
        await repo.save_conversation_reference(session=session, platform="teams", user_id="29:1", conversation_id="a:1", reference=reference)
    async with db.transaction() as session:
        assert await repo.get_conversation_reference(session=session, platform="teams", user_id="29:1") == reference
        newer = {**reference, "conversation": {"id": "a:2"}}
        await repo.save_conversation_reference(session=session, platform="teams", user_id="29:1", conversation_id="a:2", reference=newer)
    async with db.transaction() as session:
        assert await repo.get_conversation_reference(session=session, platform="teams", user_id="29:1") == newer
        assert await repo.get_conversation_reference(session=session, platform="slack", user_id="29:1") is None


async def test_feedback_is_stored_without_identity(db):
    async with db.transaction() as session:
        result = await repo.record_feedback(
            session=session, situation="photos_of_pupils", verdict="not_allowed", helpful=True,
            platform="teams", answer_id="1764072000123", user_id="29:1",
        )
    async with db.transaction() as session:
        stored = await session.get(Feedback, result.feedback_id)
    assert (stored.situation, stored.verdict, stored.helpful) == ("photos_of_pupils", "not_allowed", True)
    # Who gave it, on which answer, only as a keyed digest (tests/storage/test_growth.py).
    assert set(Feedback.model_fields) == {"id", "situation", "verdict", "helpful", "given_on", "giver_digest"}
    assert "29:1" not in stored.giver_digest and "1764072000123" not in stored.giver_digest


async def test_enqueued_notification_is_pending_with_its_payload(db):
    async with db.transaction() as session:
        notification_id = await repo.enqueue_notification(
            session=session, recipient_role="headteacher", kind="ask_headteacher", payload={"question": "Can I post?"}
        )
    async with db.transaction() as session:
        stored = await repo.get_notification(session=session, notification_id=notification_id)
        assert await repo.count_pending_notifications(session=session) == 1
    assert stored.status == "pending" and stored.attempts == 0 and stored.payload == {"question": "Can I post?"}
    assert (stored.recipient_role, stored.kind) == ("headteacher", "ask_headteacher")


async def test_notification_rolls_back_with_the_change_that_caused_it(db):
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            await repo.enqueue_notification(session=session, recipient_role="headteacher", kind="k", payload={})
            raise RuntimeError("the change failed")
    async with db.transaction() as session:
        assert await repo.count_pending_notifications(session=session) == 0


async def test_notification_needs_a_recipient(db):
    async with db.transaction() as session:
        with pytest.raises(ValueError):
            await repo.enqueue_notification(session=session, kind="k", payload={})
