"""The outbox dispatcher: delivered rows are confirmed, failures stay pending with their error."""

from __future__ import annotations

import asyncio

from storage import repository as repo
from storage.delivery import OutboxDispatcher


async def _enqueue(db, count: int) -> list[int]:
    async with db.transaction() as session:
        return [
            await repo.enqueue_notification(session=session, recipient_role="headteacher", kind="case_opened", payload={"n": n})
            for n in range(count)
        ]


async def test_the_dispatcher_delivers_and_confirms(db):
    ids = await _enqueue(db, 5)
    sent = []

    async def send(notification):
        sent.append((notification.id, notification.payload["n"]))

    assert await OutboxDispatcher(db=db, send=send).run_once() == 5
    assert sent == [(notification_id, n) for n, notification_id in enumerate(ids)]
    async with db.transaction() as session:
        assert await repo.count_pending_notifications(session=session) == 0


async def test_a_failing_platform_leaves_the_row_pending_with_its_error(db):
    [notification_id] = await _enqueue(db, 1)

    async def send(notification):
        raise ConnectionError("Slack answered 503")

    assert await OutboxDispatcher(db=db, send=send).run_once() == 0
    async with db.transaction() as session:
        stored = await repo.get_notification(session=session, notification_id=notification_id)
    assert (stored.status, stored.attempts, stored.last_error) == ("pending", 1, "ConnectionError: Slack answered 503")


async def test_run_forever_sends_what_is_queued_while_it_runs(db):
    delivered = asyncio.Event()

    async def send(notification):
        delivered.set()

    dispatcher = OutboxDispatcher(db=db, send=send, idle_seconds=30)
    task = asyncio.create_task(dispatcher.run_forever())
    try:
        await asyncio.sleep(0.05)
        await _enqueue(db, 1)
        dispatcher.wake()
        await asyncio.wait_for(delivered.wait(), timeout=5)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
