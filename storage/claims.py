"""De-duplicating deliveries in batches: every claim waiting at the same moment shares one transaction.

Answering a question writes nothing but the claim of its event id, so under load the bot would spend its
time committing one row at a time (on SQLite, one writer at a time). Here the claims that arrive while a
commit is under way wait for the next one, which records them all at once: as many commits a second as
before, each carrying many events. A claim is committed before the caller does anything visible, so a
second delivery of the same event is still stopped before any side effect."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from storage import repository as repo

MAX_BATCH = 500  # rows in one INSERT: well under SQLite's and PostgreSQL's parameter limits


class EventClaims:
    def __init__(self, *, transaction: Callable[[], AbstractAsyncContextManager]):
        self._transaction = transaction
        self._waiting: list[tuple[str, str, asyncio.Future]] = []
        self._committer: asyncio.Task | None = None

    async def claim(self, *, platform: str, event_id: str) -> bool:
        """True the first time this (platform, event id) is claimed, here or in any other process."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((platform, event_id, future))
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_waiting())
        return await future

    async def _commit_waiting(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            try:
                async with self._transaction() as session:
                    claimed = await repo.claim_events(session=session, events=[(p, e) for p, e, _ in batch])
            except Exception as error:  # every waiting caller learns that its claim failed
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            for (_, _, future), first in zip(batch, claimed):
                if not future.done():
                    future.set_result(first)

    async def close(self) -> None:
        if self._committer is not None:
            await asyncio.gather(self._committer, return_exceptions=True)
