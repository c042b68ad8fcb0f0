"""Idempotency and the outbox under real concurrency: tasks on several connections, and separate processes."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

from sqlmodel import func, select

from storage import repository as repo
from storage.models import ProcessedEvent

WORKER = Path(__file__).with_name("storage_worker.py")


def _spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(WORKER), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(process: subprocess.Popen, *, expected_code: int = 0) -> None:
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == expected_code, stderr[-3000:]


async def _processed_rows(db) -> int:
    async with db.transaction() as session:
        return (await session.exec(select(func.count()).select_from(ProcessedEvent))).one()


async def test_concurrent_duplicate_event_in_one_process_gives_one_row(db):
    async def handle() -> bool:
        async with db.transaction() as session:
            claimed = await repo.claim_event(session=session, platform="slack", event_id="EvDuplicate")
            await asyncio.sleep(0.01)  # the side effects, inside the transaction
            return claimed

    results = await asyncio.gather(*(handle() for _ in range(8)))
    assert sorted(results) == [False] * 7 + [True]
    assert await _processed_rows(db) == 1


async def test_concurrent_duplicate_events_across_processes_give_one_row_each(db, settings, tmp_path):
    event_ids = [f"Ev{index:04d}" for index in range(40)]
    start_at = time.time() + 1.5
    outputs = [tmp_path / f"won-{index}.json" for index in range(3)]
    processes = [
        _spawn("claim-events", settings.database_url, str(settings.encryption_key_file), str(start_at), str(output), *event_ids)
        for output in outputs
    ]
    for process in processes:
        _finish(process)
    won = [json.loads(output.read_text()) for output in outputs]
    all_won = [event_id for process_won in won for event_id in process_won]
    assert sorted(all_won) == event_ids  # every event handled, and by exactly one process
    assert await _processed_rows(db) == len(event_ids)


async def test_two_processes_claiming_the_outbox_deliver_each_row_once(db, settings, tmp_path):
    async with db.transaction() as session:
        ids = [
            await repo.enqueue_notification(session=session, recipient_role="headteacher", kind="test", payload={"n": n})
            for n in range(120)
        ]
    start_at = time.time() + 1.5
    outputs = [tmp_path / "delivered-a.json", tmp_path / "delivered-b.json"]
    processes = [_spawn("deliver", settings.database_url, str(settings.encryption_key_file), str(start_at), str(o)) for o in outputs]
    for process in processes:
        _finish(process)
    delivered = [json.loads(output.read_text()) for output in outputs]
    assert sorted(delivered[0] + delivered[1]) == sorted(ids)  # each row delivered exactly once
    assert delivered[0] and delivered[1], "both processes should have taken a share"
    async with db.transaction() as session:
        assert await repo.count_pending_notifications(session=session) == 0
        stored = await repo.get_notification(session=session, notification_id=ids[0])
    assert stored.status == "delivered" and stored.attempts == 1 and stored.delivered_at is not None


async def test_a_crash_between_claim_and_delivery_is_delivered_later(db, settings, tmp_path):
    async with db.transaction() as session:
        ids = [await repo.enqueue_notification(session=session, recipient_role="headteacher", kind="test", payload={"n": n}) for n in range(3)]
    output = tmp_path / "claimed.json"
    crashed = _spawn("claim-and-crash", settings.database_url, str(settings.encryption_key_file), str(output))
    _finish(crashed, expected_code=17)
    assert json.loads(output.read_text()) == ids
    async with db.transaction() as session:
        assert await repo.claim_notifications(session=session, worker_id="survivor") == []  # still leased
        assert await repo.count_pending_notifications(session=session) == 3
    await asyncio.sleep(1.2)  # the crashed worker's 1-second lease runs out
    async with db.transaction() as session:
        reclaimed = await repo.claim_notifications(session=session, worker_id="survivor")
    assert [n.id for n in reclaimed] == ids and all(n.attempts == 2 for n in reclaimed)
    async with db.transaction() as session:
        for notification in reclaimed:
            assert await repo.mark_delivered(session=session, notification_id=notification.id, worker_id="survivor")
        assert await repo.count_pending_notifications(session=session) == 0


async def test_a_worker_whose_lease_was_taken_over_cannot_confirm(db):
    async with db.transaction() as session:
        notification_id = await repo.enqueue_notification(session=session, recipient_role="headteacher", kind="test", payload={})
    async with db.transaction() as session:
        await repo.claim_notifications(session=session, worker_id="slow", lease_seconds=0.05)
    await asyncio.sleep(0.1)
    async with db.transaction() as session:
        [taken] = await repo.claim_notifications(session=session, worker_id="fast")
    async with db.transaction() as session:
        assert not await repo.mark_delivered(session=session, notification_id=notification_id, worker_id="slow")
        assert await repo.mark_delivered(session=session, notification_id=taken.id, worker_id="fast")
        assert not await repo.mark_delivered(session=session, notification_id=taken.id, worker_id="fast")


async def test_a_failed_delivery_stays_pending_with_its_error_and_is_retried_after_a_delay(db):
    async with db.transaction() as session:
        notification_id = await repo.enqueue_notification(session=session, recipient_role="headteacher", kind="test", payload={})
    async with db.transaction() as session:
        await repo.claim_notifications(session=session, worker_id="w")
    async with db.transaction() as session:
        assert await repo.mark_failed(session=session, notification_id=notification_id, worker_id="w", error="HTTP 429 ratelimited")
        assert not await repo.mark_failed(session=session, notification_id=notification_id, worker_id="other", error="x")
    async with db.transaction() as session:
        stored = await repo.get_notification(session=session, notification_id=notification_id)
        assert (stored.status, stored.attempts, stored.last_error) == ("pending", 1, "HTTP 429 ratelimited")
        assert await repo.claim_notifications(session=session, worker_id="w") == []  # backing off


async def test_concurrent_workers_in_one_process_never_share_a_row(db):
    async with db.transaction() as session:
        for n in range(60):
            await repo.enqueue_notification(session=session, recipient_role="headteacher", kind="test", payload={"n": n})

    async def worker(name: str) -> list[int]:
        taken = []
        while True:
            async with db.transaction() as session:
                claimed = await repo.claim_notifications(session=session, worker_id=name, limit=4)
            if not claimed:
                return taken
            taken.extend(n.id for n in claimed)
            await asyncio.sleep(0)

    results = await asyncio.gather(*(worker(f"w{i}") for i in range(4)))
    flat = [notification_id for result in results for notification_id in result]
    assert len(flat) == 60 and len(set(flat)) == 60


# Enough processes, released within a millisecond of each other, to make first-run races show: with
# three processes started by the clock, "database is locked" from the WAL switch showed once in four runs.
FRESH_START_PROCESSES = 12


async def test_several_processes_starting_on_a_fresh_database_all_succeed(settings, tmp_path):
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    processes = [
        _spawn("open", settings.database_url, str(settings.encryption_key_file), str(barrier)) for _ in range(FRESH_START_PROCESSES)
    ]
    deadline = time.monotonic() + 120
    while len(list(barrier.glob("ready-*"))) < FRESH_START_PROCESSES:
        assert time.monotonic() < deadline, "the worker processes did not start"
        for process in processes:
            if process.poll() is not None:
                _finish(process)  # fails, showing why it died
        await asyncio.sleep(0.02)
    (barrier / "go").touch()
    for process in processes:
        _finish(process)
    from storage.database import Database

    database = await Database.open(settings=settings)  # same key, one schema, every process's case readable
    try:
        async with database.transaction() as session:
            assert await repo.count_pending_notifications(session=session) == FRESH_START_PROCESSES
            for notification in await repo.claim_notifications(session=session, worker_id="check"):
                assert notification.payload["summary"] == "first day"
    finally:
        await database.close()
