"""The loop that empties the outbox: claim due notifications, hand each to a platform sender, confirm or
record the failure. Platform-neutral: the sender is any `async def send(notification) -> None` that raises
when the platform did not accept the message.

    dispatcher = OutboxDispatcher(db=db, send=send)
    task = asyncio.create_task(dispatcher.run_forever())   # or: await dispatcher.run_once()

While a batch is out, a heartbeat renews its leases every third of a lease, so a send slower than the
lease stays with this worker, and a worker that dies leaves its rows to others within one lease (15 s by
default). A row whose lease was taken over, or could not be renewed in time, is not sent by this worker.
Each recipient gets their notifications in the order they were queued, whichever worker sends them
(see `claim_notifications(in_recipient_order=True)`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from storage import repository as repo
from storage.database import Database
from storage.errors import database_unreachable
from storage.repository.outbox import DEFAULT_LEASE_SECONDS, ClaimedNotification, renew_leases

log = logging.getLogger(__name__)

Sender = Callable[[ClaimedNotification], Awaitable[None]]

# How long one send may take (every recipient of a notification, the platform's own retries included)
# before it counts as failed and is tried again later; the heartbeat keeps the lease meanwhile.
DEFAULT_SEND_TIMEOUT_SECONDS = 60
RENEWALS_PER_LEASE = 3


class OutboxDispatcher:
    def __init__(
        self,
        *,
        db: Database,
        send: Sender,
        batch_size: int = 20,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        send_timeout_seconds: float = DEFAULT_SEND_TIMEOUT_SECONDS,
        idle_seconds: float = 1.0,
        worker_id: str | None = None,
    ) -> None:
        self.db = db
        self.send = send
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.send_timeout_seconds = send_timeout_seconds
        self.idle_seconds = idle_seconds
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Call after committing a notification, to send it now rather than at the next poll."""
        self._wake.set()

    async def run_once(self) -> int:
        """Deliver what is due, batch after batch, until nothing more is; returns how many were delivered.
        A batch holds one notification per recipient (the head of their queue), so each person gets
        theirs in the order they were queued."""
        delivered = 0
        while True:
            claimed_at = time.monotonic()  # before the claim: its lease surely lasts a lease from here
            claimed = await self._claim()
            if not claimed:
                return delivered
            delivered += await self._deliver_batch(claimed, claimed_at=claimed_at)

    async def _claim(self) -> list[ClaimedNotification]:
        async with self.db.transaction() as session:
            return await repo.claim_notifications(
                session=session, worker_id=self.worker_id, limit=self.batch_size, lease_seconds=self.lease_seconds, in_recipient_order=True
            )

    async def _deliver_batch(self, claimed: list[ClaimedNotification], *, claimed_at: float) -> int:
        leases = _Leases(held={notification.id for notification in claimed}, valid_until=claimed_at + self.lease_seconds)
        heartbeat = asyncio.create_task(self._keep(leases), name="policybot-outbox-heartbeat")
        try:
            return await self._deliver(claimed, leases=leases)
        finally:
            heartbeat.cancel()
            await asyncio.gather(heartbeat, return_exceptions=True)

    async def _deliver(self, claimed: list[ClaimedNotification], *, leases: _Leases) -> int:
        delivered = 0
        for notification in claimed:
            if not leases.holds(notification.id):
                # Not renewed in time (the database out of reach): another worker may have it already.
                log.warning("notification %s left to the next claim: its lease ran out", notification.id)
                continue
            # Sent outside any transaction: a slow platform must not hold database locks.
            try:
                await asyncio.wait_for(self.send(notification), timeout=self.send_timeout_seconds)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # any sender failure: keep the row pending and try later
                leases.held.discard(notification.id)  # marking it failed releases the lease
                # The kind and id and our own explanation only: the payload may hold a report's text.
                log.warning("notification %s (%s) not delivered, kept to try again: %s", notification.id, notification.kind, _reason(error))
                async with self.db.transaction() as session:
                    await repo.mark_failed(
                        session=session, notification_id=notification.id, worker_id=self.worker_id, error=f"{type(error).__name__}: {error}"
                    )
                continue
            leases.held.discard(notification.id)
            async with self.db.transaction() as session:
                if await repo.mark_delivered(session=session, notification_id=notification.id, worker_id=self.worker_id):
                    delivered += 1
        return delivered

    async def _keep(self, leases: _Leases) -> None:
        """The heartbeat: renew the batch's leases every third of a lease until cancelled, dropping the
        rows another worker has taken over."""
        while leases.held:
            await asyncio.sleep(self.lease_seconds / RENEWALS_PER_LEASE)
            asked = set(leases.held)
            renewing_at = time.monotonic()
            try:
                async with self.db.transaction() as session:
                    kept = await renew_leases(
                        session=session, notification_ids=sorted(asked), worker_id=self.worker_id, lease_seconds=self.lease_seconds
                    )
            except Exception as error:  # the database out of reach for a moment: the next beat tries again
                log.warning("could not renew outbox leases, trying again: %s", type(error).__name__)
                continue
            leases.valid_until = renewing_at + self.lease_seconds
            # Rows finished meanwhile are not renewed either; only those still held were taken over.
            taken_over = (asked - kept) & leases.held
            if taken_over:
                log.warning("%d outbox notifications were taken over by another worker", len(taken_over))
                leases.held.difference_update(taken_over)

    async def run_forever(self) -> None:
        while True:
            # Cleared before the run, not after: a wake() while it runs (a click committing) starts the next
            # run at once instead of waiting for the poll.
            self._wake.clear()
            try:
                busy = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if database_unreachable(error):
                    log.warning("outbox dispatch could not reach the database (%s); retrying", type(error).__name__)
                else:
                    log.exception("outbox dispatch failed; retrying")
                busy = 0
            if not busy:
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=self.idle_seconds)
                except asyncio.TimeoutError:
                    pass


@dataclass(slots=True)
class _Leases:
    """The rows of one batch that this worker still holds, and until when (time.monotonic()) it surely
    holds them: the start of the last claim or renewal that succeeded, plus a lease."""

    held: set[int]
    valid_until: float

    def holds(self, notification_id: int) -> bool:
        return notification_id in self.held and time.monotonic() < self.valid_until


def _reason(error: Exception) -> str:
    """Why a delivery failed, fit for the log: the senders' own errors say what to do (a Teams person who
    has never opened a chat with the bot, a role nobody holds) and never carry a message's text."""
    explained = getattr(error, "safe_to_log", False)
    return f"{type(error).__name__}: {error}" if explained else type(error).__name__
