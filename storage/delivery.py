"""The loop that empties the outbox: claim due notifications, hand each to a platform sender, confirm or
record the failure. Platform-neutral: the sender is any `async def send(notification) -> None` that raises
when the platform did not accept the message.

    dispatcher = OutboxDispatcher(db=db, send=send)
    task = asyncio.create_task(dispatcher.run_forever())   # or: await dispatcher.run_once()
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable

from storage import repository as repo
from storage.database import Database
from storage.repository.outbox import DEFAULT_LEASE_SECONDS, ClaimedNotification

log = logging.getLogger(__name__)

Sender = Callable[[ClaimedNotification], Awaitable[None]]


class OutboxDispatcher:
    def __init__(
        self,
        *,
        db: Database,
        send: Sender,
        batch_size: int = 20,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        idle_seconds: float = 1.0,
        worker_id: str | None = None,
    ) -> None:
        self.db = db
        self.send = send
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.idle_seconds = idle_seconds
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Call after committing a notification, to send it now rather than at the next poll."""
        self._wake.set()

    async def run_once(self) -> int:
        """Claim one batch and deliver it; returns how many were delivered."""
        async with self.db.transaction() as session:
            claimed = await repo.claim_notifications(
                session=session, worker_id=self.worker_id, limit=self.batch_size, lease_seconds=self.lease_seconds
            )
        delivered = 0
        for notification in claimed:
            # Sent outside any transaction: a slow platform must not hold database locks.
            try:
                await asyncio.wait_for(self.send(notification), timeout=self.lease_seconds / 2)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # any sender failure: keep the row pending and try later
                # The kind and id and our own explanation only: the payload may hold a report's text.
                log.warning("notification %s (%s) not delivered, kept to try again: %s", notification.id, notification.kind, _reason(error))
                async with self.db.transaction() as session:
                    await repo.mark_failed(
                        session=session, notification_id=notification.id, worker_id=self.worker_id, error=f"{type(error).__name__}: {error}"
                    )
                continue
            async with self.db.transaction() as session:
                if await repo.mark_delivered(session=session, notification_id=notification.id, worker_id=self.worker_id):
                    delivered += 1
        return delivered

    async def run_forever(self) -> None:
        while True:
            try:
                busy = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox dispatch failed; retrying")
                busy = 0
            if not busy:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=self.idle_seconds)
                except asyncio.TimeoutError:
                    pass


def _reason(error: Exception) -> str:
    """Why a delivery failed, fit for the log: the senders' own errors say what to do (a Teams person who
    has never opened a chat with the bot, a role nobody holds) and never carry a message's text."""
    explained = getattr(error, "safe_to_log", False)
    return f"{type(error).__name__}: {error}" if explained else type(error).__name__
