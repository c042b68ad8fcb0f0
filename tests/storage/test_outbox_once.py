"""Outbox leases are short and kept alive while a send is in progress: a dead worker's notifications are
claimable again within seconds, and a live worker that is slow to send keeps them, so that two workers
(two `policybot serve` on one database) still send each notification once."""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from storage import repository as repo
from storage.database import Database
from storage.delivery import OutboxDispatcher
from storage.repository import outbox

# A worker process that claims the outbox with the default lease and hangs inside the send, as if the
# platform had taken the message and the process were killed before confirming it.
DYING_WORKER = """
import asyncio, sys
from pathlib import Path
from bot.config import Settings
from storage.database import Database
from storage.delivery import OutboxDispatcher

async def main(url, key_file, sending_file):
    db = await Database.open(settings=Settings(_env_file=None, database_url=url, encryption_key_file=Path(key_file)))

    async def send(notification):
        Path(sending_file).write_text(str(notification.id))
        await asyncio.sleep(3600)

    await OutboxDispatcher(db=db, send=send).run_once()

asyncio.run(main(*sys.argv[1:]))
"""
# How soon a dead worker's notification must be claimable again.
RECLAIM_WITHIN = timedelta(seconds=20)


async def _enqueue(db, count: int = 1, *, people: int = 0) -> list[int]:
    """`count` notifications, to the headteacher or, with `people`, to that many staff in turn."""
    async with db.transaction() as session:
        return [
            await repo.enqueue_notification(session=session, kind="case_opened", payload={"n": n}, **_recipient(n, people=people))
            for n in range(count)
        ]


def _recipient(n: int, *, people: int) -> dict:
    if not people:
        return {"recipient_role": "headteacher"}
    return {"recipient_platform": "slack", "recipient_user_id": f"U0STAFF{n % people:02d}"}


async def _claim(db, worker_id: str) -> list[int]:
    async with db.transaction() as session:
        return [notification.id for notification in await repo.claim_notifications(session=session, worker_id=worker_id)]


async def _wait_for_file(path: Path, *, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, "the worker never started sending"
        await asyncio.sleep(0.05)


async def test_a_killed_worker_s_notification_is_claimable_again_within_seconds(db, settings, tmp_path, monkeypatch):
    [notification_id] = await _enqueue(db)
    sending = tmp_path / "sending"
    worker = subprocess.Popen(
        [sys.executable, "-c", DYING_WORKER, settings.database_url, str(settings.encryption_key_file), str(sending)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        await _wait_for_file(sending)
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.communicate(timeout=30)
    killed_at = outbox.utcnow()
    assert await _claim(db, "survivor") == []  # its lease is still running: no worker may take it at once

    monkeypatch.setattr(outbox, "utcnow", lambda: killed_at + RECLAIM_WITHIN)
    assert await _claim(db, "survivor") == [notification_id]


async def test_a_claim_with_the_default_lease_holds_it_for_seconds_not_minutes(db):
    # What the real default gives: a claimed row leased for seconds, not minutes.
    [notification_id] = await _enqueue(db)
    started = outbox.utcnow()
    async with db.transaction() as session:
        [claimed] = await repo.claim_notifications(session=session, worker_id="w")
    assert claimed.id == notification_id
    assert claimed.lease_expires_at - started <= RECLAIM_WITHIN


async def test_a_live_worker_slower_than_its_lease_keeps_it_and_sends_once(db, settings):
    [notification_id] = await _enqueue(db)
    lease = 1.0
    other_db = await Database.open(settings=settings)  # another process's connections
    sent: list[str] = []
    slow_send_started = asyncio.Event()

    async def slow_send(notification):
        sent.append("slow")
        slow_send_started.set()
        await asyncio.sleep(lease * 2.5)

    async def quick_send(notification):
        sent.append("quick")

    slow = OutboxDispatcher(db=db, send=slow_send, lease_seconds=lease, worker_id="slow")
    quick = OutboxDispatcher(db=other_db, send=quick_send, lease_seconds=lease, worker_id="quick")
    try:
        slow_run = asyncio.create_task(slow.run_once())
        await slow_send_started.wait()
        while not slow_run.done():  # the other worker keeps polling all the while
            assert await quick.run_once() == 0
            await asyncio.sleep(0.05)
        assert await slow_run == 1
        assert await quick.run_once() == 0
    finally:
        await other_db.close()
    assert sent == ["slow"]
    async with db.transaction() as session:
        stored = await repo.get_notification(session=session, notification_id=notification_id)
    assert (stored.status, stored.attempts) == ("delivered", 1)


async def test_several_workers_with_slow_sends_deliver_each_notification_once(db, settings):
    ids = await _enqueue(db, 12, people=4)
    lease = 1.0
    databases = [db, await Database.open(settings=settings), await Database.open(settings=settings)]
    sends: collections.Counter[int] = collections.Counter()

    async def send(notification):
        sends[notification.id] += 1
        # Every third send outlasts the lease: only the heartbeat keeps it with this worker.
        await asyncio.sleep(lease * 1.6 if notification.id % 3 == 0 else 0.02)

    async def work(database, name: str) -> None:
        dispatcher = OutboxDispatcher(db=database, send=send, lease_seconds=lease, batch_size=2, worker_id=name)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            await dispatcher.run_once()
            async with database.transaction() as session:
                if await repo.count_pending_notifications(session=session) == 0:
                    return
            await asyncio.sleep(0.02)

    try:
        await asyncio.gather(*(work(database, f"worker-{index}") for index, database in enumerate(databases)))
    finally:
        for database in databases[1:]:
            await database.close()
    assert sends == collections.Counter({notification_id: 1 for notification_id in ids})


async def test_a_lease_taken_over_is_not_renewed_and_a_worker_renews_only_its_own(db):
    first, second = await _enqueue(db, 2)
    async with db.transaction() as session:
        await repo.claim_notifications(session=session, worker_id="gone", lease_seconds=0.05)
    await asyncio.sleep(0.1)
    async with db.transaction() as session:
        assert [n.id for n in await repo.claim_notifications(session=session, worker_id="new", limit=1)] == [first]
    async with db.transaction() as session:
        assert await outbox.renew_leases(session=session, notification_ids=[first, second], worker_id="gone", lease_seconds=5) == {second}
        assert await outbox.renew_leases(session=session, notification_ids=[first, second], worker_id="new", lease_seconds=5) == {first}


async def test_a_worker_that_cannot_renew_its_leases_leaves_the_rest_of_its_batch_to_others(db, settings, monkeypatch):
    first, second = await _enqueue(db, 2, people=2)
    lease = 1.0
    other_db = await Database.open(settings=settings)
    sends: list[tuple[str, int]] = []
    first_on_its_way, other_done = asyncio.Event(), asyncio.Event()

    async def database_out_of_reach(**_arguments):
        raise ConnectionRefusedError("the database is restarting")

    monkeypatch.setattr("storage.delivery.renew_leases", database_out_of_reach)

    async def slow_send(notification):
        sends.append(("cut off", notification.id))
        first_on_its_way.set()
        await other_done.wait()

    async def send(notification):
        sends.append(("other", notification.id))

    cut_off = OutboxDispatcher(db=db, send=slow_send, lease_seconds=lease, batch_size=2, worker_id="cut-off")
    other = OutboxDispatcher(db=other_db, send=send, lease_seconds=60, worker_id="other")
    try:
        cut_off_run = asyncio.create_task(cut_off.run_once())
        # Waiting on events, not on a guess of how long a claim takes on a busy machine: the lease was
        # written before the first send began, so a lease and a half later it has run out unrenewed.
        await asyncio.wait_for(first_on_its_way.wait(), timeout=30)
        await asyncio.sleep(lease * 1.5)
        assert await other.run_once() == 2
        other_done.set()
        assert await cut_off_run == 0  # the first was confirmed by the other worker; the second not sent
    finally:
        other_done.set()
        await other_db.close()
    # The first was already on its way when the lease ran out (on Slack the lookup catches that repeat).
    assert sends == [("cut off", first), ("other", first), ("other", second)]


async def test_a_person_gets_their_notifications_in_order_when_the_first_fails_once(db, monkeypatch):
    first, second, third = await _enqueue(db, 3)
    [someone_else] = await _enqueue(db, 1, people=1)
    failed: list[int] = []
    sent: list[int] = []

    async def send(notification):
        if notification.id == first and not failed:
            failed.append(first)
            raise ConnectionError("Slack answered 503")
        sent.append(notification.id)

    dispatcher = OutboxDispatcher(db=db, send=send)
    # The first failed; the two after it wait behind it, and another person is not held back.
    assert await dispatcher.run_once() == 1 and sent == [someone_else]

    retry_due = outbox.utcnow() + outbox.RETRY_BASE + timedelta(seconds=1)
    monkeypatch.setattr(outbox, "utcnow", lambda: retry_due)
    assert await dispatcher.run_once() == 3
    assert sent == [someone_else, first, second, third]


async def test_one_that_keeps_failing_stops_holding_the_others_back(db, monkeypatch):
    stuck, after = await _enqueue(db, 2)
    sent: list[int] = []

    async def send(notification):
        if notification.id == stuck:
            raise LookupError("no headteacher on this platform yet")
        sent.append(notification.id)

    dispatcher = OutboxDispatcher(db=db, send=send)
    clock = outbox.utcnow()
    for _ in range(outbox.ORDERED_ATTEMPTS):
        monkeypatch.setattr(outbox, "utcnow", lambda: clock)
        await dispatcher.run_once()
        clock += outbox.RETRY_MAX  # past any retry delay
    assert sent == [after]


async def test_two_workers_keep_one_person_s_order(db, settings):
    ids = await _enqueue(db, 8)
    other_db = await Database.open(settings=settings)
    sent: list[int] = []

    async def send(notification):
        await asyncio.sleep(0.1 if notification.id % 2 else 0.01)  # sends of uneven length
        sent.append(notification.id)

    try:
        workers = [
            OutboxDispatcher(db=database, send=send, batch_size=1, worker_id=name) for database, name in ((db, "a"), (other_db, "b"))
        ]
        await asyncio.gather(*(worker.run_once() for worker in workers))
    finally:
        await other_db.close()
    assert sent == ids
