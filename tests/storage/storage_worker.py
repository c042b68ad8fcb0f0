"""Run as a separate process by the storage tests, to exercise real cross-process concurrency.

    python storage_worker.py claim-events DATABASE_URL KEY_FILE START_AT OUTPUT EVENT_ID...
    python storage_worker.py deliver DATABASE_URL KEY_FILE START_AT OUTPUT
    python storage_worker.py claim-and-crash DATABASE_URL KEY_FILE OUTPUT
    python storage_worker.py open DATABASE_URL KEY_FILE BARRIER_DIR

START_AT is a time.time() value to wait for, so that every process starts at the same moment. BARRIER_DIR
is a tighter start: each process, once imported, writes a file there and spins until the test writes `go`.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

from bot.config import Settings
from storage import repository as repo
from storage.database import Database


async def _open(url: str, key_file: str) -> Database:
    return await Database.open(settings=Settings(_env_file=None, database_url=url, encryption_key_file=Path(key_file)))


def _wait_until(start_at: float) -> None:
    time.sleep(max(0.0, start_at - time.time()))


async def claim_events(url: str, key_file: str, start_at: float, output: str, event_ids: list[str]) -> None:
    db = await _open(url, key_file)
    _wait_until(start_at)
    won = []
    for event_id in event_ids:
        async with db.transaction() as session:
            if await repo.claim_event(session=session, platform="slack", event_id=event_id):
                won.append(event_id)
    await db.close()
    Path(output).write_text(json.dumps(won))


async def deliver(url: str, key_file: str, start_at: float, output: str) -> None:
    """Claim small batches and 'deliver' each row by recording its id, until nothing is left."""
    db = await _open(url, key_file)
    worker_id = f"worker-{os.getpid()}"
    _wait_until(start_at)
    delivered = []
    while True:
        async with db.transaction() as session:
            claimed = await repo.claim_notifications(session=session, worker_id=worker_id, limit=3, lease_seconds=60)
        if not claimed:
            async with db.transaction() as session:
                if await repo.count_pending_notifications(session=session) == 0:
                    break
            await asyncio.sleep(0.01)
            continue
        for notification in claimed:
            delivered.append(notification.id)
            await asyncio.sleep(0.001)  # the platform call
            async with db.transaction() as session:
                assert await repo.mark_delivered(session=session, notification_id=notification.id, worker_id=worker_id)
    await db.close()
    Path(output).write_text(json.dumps(delivered))


async def claim_and_crash(url: str, key_file: str, output: str) -> None:
    db = await _open(url, key_file)
    async with db.transaction() as session:
        claimed = await repo.claim_notifications(session=session, worker_id=f"doomed-{os.getpid()}", limit=100, lease_seconds=1)
    Path(output).write_text(json.dumps([notification.id for notification in claimed]))
    os._exit(17)  # dies before delivering: no cleanup, no mark_delivered, no close


def _wait_for_go(barrier_dir: str) -> None:
    barrier = Path(barrier_dir)
    (barrier / f"ready-{os.getpid()}").touch()
    go = barrier / "go"
    deadline = time.monotonic() + 120
    while not go.exists():
        if time.monotonic() > deadline:
            raise SystemExit("the test never said go")
        time.sleep(0.0005)


async def open_fresh(url: str, key_file: str, barrier_dir: str) -> None:
    _wait_for_go(barrier_dir)
    db = await _open(url, key_file)
    async with db.transaction() as session:
        await repo.create_case(session=session, text="first day")
    await db.close()


def main(argv: list[str]) -> None:
    command, url, key_file, *rest = argv
    if command == "claim-events":
        start_at, output, *event_ids = rest
        asyncio.run(claim_events(url, key_file, float(start_at), output, event_ids))
    elif command == "deliver":
        start_at, output = rest
        asyncio.run(deliver(url, key_file, float(start_at), output))
    elif command == "claim-and-crash":
        (output,) = rest
        asyncio.run(claim_and_crash(url, key_file, output))
    elif command == "open":
        (barrier_dir,) = rest
        asyncio.run(open_fresh(url, key_file, barrier_dir))
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main(sys.argv[1:])
