"""Batched de-duplication: concurrent claims share commits, and each event is still claimed once."""

import asyncio

import pytest

from storage import repository as repo
from storage.claims import EventClaims


class CountingTransactions:
    def __init__(self, db):
        self.db = db
        self.commits = 0

    def __call__(self):
        self.commits += 1
        return self.db.transaction()


async def test_concurrent_claims_share_commits_and_each_event_is_claimed_once(db):
    transactions = CountingTransactions(db)
    claims = EventClaims(transaction=transactions)
    ids = [f"Ev{n}" for n in range(200)]
    # Every event delivered twice at once, as Slack's retries can be.
    results = await asyncio.gather(*(claims.claim(platform="slack", event_id=e) for e in ids + ids))
    await claims.close()
    assert results[:200] == [True] * 200
    assert results[200:] == [False] * 200
    assert transactions.commits < 20  # batched, not one commit per delivery


async def test_a_claim_already_recorded_by_another_path_is_refused(db):
    async with db.transaction() as session:
        assert await repo.claim_event(session=session, platform="teams", event_id="act-1")
    claims = EventClaims(transaction=db.transaction)
    assert await claims.claim(platform="teams", event_id="act-1") is False
    assert await claims.claim(platform="slack", event_id="act-1") is True  # another platform's id space
    await claims.close()


async def test_claim_events_marks_repeats_within_one_call(db):
    async with db.transaction() as session:
        first = await repo.claim_events(session=session, events=[("slack", "A"), ("slack", "B"), ("slack", "A")])
    async with db.transaction() as session:
        second = await repo.claim_events(session=session, events=[("slack", "B"), ("slack", "C")])
    assert first == [True, True, False]
    assert second == [False, True]


async def test_a_failed_commit_reaches_every_waiting_caller_and_the_next_claims_still_work(db):
    calls = 0

    def failing_once():
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("database went away")
        return db.transaction()

    claims = EventClaims(transaction=failing_once)
    outcomes = await asyncio.gather(*(claims.claim(platform="slack", event_id=f"E{n}") for n in range(5)), return_exceptions=True)
    assert all(isinstance(o, ConnectionError) for o in outcomes)
    # Nothing was recorded, so the platform's retry is answered.
    assert await claims.claim(platform="slack", event_id="E0") is True
    await claims.close()


@pytest.mark.parametrize("count", [1, 1200])
async def test_batches_larger_than_one_statement_are_split(db, count):
    claims = EventClaims(transaction=db.transaction)
    results = await asyncio.gather(*(claims.claim(platform="slack", event_id=f"big{n}") for n in range(count)))
    await claims.close()
    assert results == [True] * count
