"""The outbox: notifications written in the same transaction as the change that causes them, delivered
by a worker that claims them, and pending until a platform confirms delivery.

A worker claims rows with a short lease (`claim_notifications`, in its own short transaction), keeps
renewing it while it sends (`renew_leases`, see storage.delivery), delivers outside any transaction,
then confirms (`mark_delivered`) or reports a failure (`mark_failed`). A worker that dies stops renewing,
and its rows are claimed again within a lease: delivery is at least once. A sender that can look up what
its platform already took (Slack, by message metadata) makes a repeat after such a crash a no-op.

Lease times are taken from each worker's clock: workers on different hosts need clocks that agree to
well within a lease (NTP)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Notification, NotificationPublic
from storage.repository._common import check_length, cipher_of, start_of_today, utcnow

PENDING = "pending"
DELIVERED = "delivered"
PAYLOAD_PURPOSE = "notification.payload"
# Short, so a dead worker's rows are sent again within seconds; a live worker renews it every third of
# it while it sends (storage.delivery), however long the platform takes.
DEFAULT_LEASE_SECONDS = 15
# An earlier notification to the same person holds later ones back while it is in flight or in its first
# tries (with RETRY_BASE, about 30 s of retries): order survives a short fault, and one that keeps failing
# (a kind this version cannot show, nobody in the role yet) does not hold the rest back for hours.
ORDERED_ATTEMPTS = 3
MAX_ERROR_CHARS = 2_000
# Retry delays after a failed delivery double from RETRY_BASE up to RETRY_MAX.
RETRY_BASE = timedelta(seconds=10)
RETRY_MAX = timedelta(hours=1)
MAX_PAYLOAD_CHARS = 60_000


@dataclass(frozen=True, slots=True)
class ClaimedNotification:
    id: int
    recipient_role: str | None
    recipient_platform: str | None
    recipient_user_id: str | None
    kind: str
    payload: dict
    attempts: int
    lease_expires_at: datetime


async def enqueue_notification(
    *,
    session: AsyncSession,
    kind: str,
    payload: dict,
    recipient_role: str | None = None,
    recipient_platform: str | None = None,
    recipient_user_id: str | None = None,
    case_id: int | None = None,
    delay_seconds: float = 0,
) -> int:
    """Queue a notification to a role (e.g. "headteacher") or to one person; returns its id.

    The payload is stored encrypted: it may carry a report's text. Pass the anonymous case it is about as
    `case_id`, so that it is deleted with the case; once delivered, its times are kept to the day.
    `delay_seconds` holds it back that long (a report's notification leaving at a random delay says less
    about when the reporter wrote)."""
    if recipient_role is None and recipient_user_id is None:
        raise ValueError("a notification needs a recipient_role or a recipient_user_id")
    if recipient_user_id is not None and recipient_platform is None:
        raise ValueError("a notification to a person needs recipient_platform")
    payload_json = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    check_length(payload_json, what="notification payload", limit=MAX_PAYLOAD_CHARS)
    now = utcnow()
    notification = Notification(
        recipient_role=recipient_role,
        recipient_platform=recipient_platform,
        recipient_user_id=recipient_user_id,
        kind=kind,
        case_id=case_id,
        payload_encrypted=cipher_of(session).encrypt(payload_json, purpose=PAYLOAD_PURPOSE),
        created_at=now,
        next_attempt_at=now + timedelta(seconds=max(0.0, delay_seconds)),
    )
    session.add(notification)
    await session.flush()
    return notification.id


async def claim_notifications(
    *,
    session: AsyncSession,
    worker_id: str,
    limit: int = 20,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    in_recipient_order: bool = False,
) -> list[ClaimedNotification]:
    """Claim up to `limit` due rows for `worker_id`, counting an attempt on each. Commit right away.

    `in_recipient_order` (the dispatcher's way) claims a row only at the head of its recipient's queue:
    not while an earlier row for the same recipient is due, in flight or in its first ORDERED_ATTEMPTS
    tries, so each person gets their notifications in the order they were queued, one claim at a time.

    PostgreSQL: the rows are picked with FOR UPDATE SKIP LOCKED, so concurrent workers take different rows
    without waiting. SQLite: the transaction began with BEGIN IMMEDIATE (see storage.database), so claims
    are serialised across processes; the single UPDATE ... RETURNING picks and claims in one statement."""
    now = utcnow()
    lease_expires_at = now + timedelta(seconds=lease_seconds)
    due = (
        select(Notification.id)
        .where(
            Notification.status == PENDING,
            Notification.next_attempt_at <= now,
            or_(col(Notification.lease_expires_at).is_(None), col(Notification.lease_expires_at) < now),
            *((~_earlier_for_the_same_recipient(now=now).exists(),) if in_recipient_order else ()),
        )
        .order_by(Notification.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    statement = (
        update(Notification)
        .where(col(Notification.id).in_(due.scalar_subquery()))
        .values(claimed_by=worker_id, lease_expires_at=lease_expires_at, attempts=Notification.attempts + 1)
        .returning(
            Notification.id,
            Notification.recipient_role,
            Notification.recipient_platform,
            Notification.recipient_user_id,
            Notification.kind,
            Notification.payload_encrypted,
            Notification.attempts,
        )
        .execution_options(synchronize_session=False)
    )
    rows = (await session.exec(statement)).all()
    cipher = cipher_of(session)
    claimed = [
        ClaimedNotification(
            id=row.id,
            recipient_role=row.recipient_role,
            recipient_platform=row.recipient_platform,
            recipient_user_id=row.recipient_user_id,
            kind=row.kind,
            payload=json.loads(cipher.decrypt(row.payload_encrypted, purpose=PAYLOAD_PURPOSE)),
            attempts=row.attempts,
            lease_expires_at=lease_expires_at,
        )
        for row in rows
    ]
    return sorted(claimed, key=lambda notification: notification.id)


def _earlier_for_the_same_recipient(*, now: datetime):
    """The pending rows queued before the row being claimed, for its recipient, that it must wait for:
    due (they go first), or tried and still in their first ORDERED_ATTEMPTS tries (in flight, or waiting
    to be retried). One delayed on purpose and never tried (a report's) holds nothing back."""
    earlier = aliased(Notification)
    return select(earlier.id).where(
        earlier.status == PENDING,
        earlier.id < Notification.id,
        earlier.recipient_role.is_not_distinct_from(Notification.recipient_role),
        earlier.recipient_platform.is_not_distinct_from(Notification.recipient_platform),
        earlier.recipient_user_id.is_not_distinct_from(Notification.recipient_user_id),
        or_(earlier.next_attempt_at <= now, and_(earlier.attempts >= 1, earlier.attempts < ORDERED_ATTEMPTS)),
    )


async def renew_leases(
    *, session: AsyncSession, notification_ids: Sequence[int], worker_id: str, lease_seconds: float = DEFAULT_LEASE_SECONDS
) -> set[int]:
    """Extend the lease on those of `notification_ids` that are still `worker_id`'s and still pending;
    returns their ids. A row missing from the answer was confirmed, or its lease ran out and another
    worker claimed it: it is no longer this worker's to send.

    The claimed_by condition decides a race with a claim: on PostgreSQL whichever locks the row first
    wins and the other sees its write; on SQLite the two transactions take turns (BEGIN IMMEDIATE)."""
    if not notification_ids:
        return set()
    statement = (
        update(Notification)
        .where(col(Notification.id).in_(notification_ids), Notification.claimed_by == worker_id, Notification.status == PENDING)
        .values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds))
        .returning(Notification.id)
        .execution_options(synchronize_session=False)
    )
    return {row.id for row in (await session.exec(statement)).all()}


async def mark_delivered(*, session: AsyncSession, notification_id: int, worker_id: str) -> bool:
    """Confirm delivery. False if the row is no longer this worker's (its lease expired and another
    worker claimed it) or was already confirmed."""
    statement = (
        update(Notification)
        .where(Notification.id == notification_id, Notification.claimed_by == worker_id, Notification.status == PENDING)
        .values(status=DELIVERED, delivered_at=utcnow(), claimed_by=None, lease_expires_at=None, last_error=None)
        .execution_options(synchronize_session=False)
    )
    if (await session.exec(statement)).rowcount != 1:
        return False
    # A case's notification, once sent, keeps only the day: its times could be matched with the reporter's.
    day = start_of_today()
    await session.exec(
        update(Notification)
        .where(Notification.id == notification_id, col(Notification.case_id).is_not(None))
        .values(created_at=day, next_attempt_at=day, delivered_at=day)
        .execution_options(synchronize_session=False)
    )
    return True


async def mark_failed(*, session: AsyncSession, notification_id: int, worker_id: str, error: str) -> bool:
    """Record a failed attempt: the row stays pending and is retried after a growing delay."""
    found = await session.exec(
        select(Notification.attempts).where(Notification.id == notification_id, Notification.claimed_by == worker_id)
    )
    attempts = found.first()
    if attempts is None:
        return False
    delay = min(RETRY_BASE * 2 ** max(attempts - 1, 0), RETRY_MAX)
    statement = (
        update(Notification)
        .where(Notification.id == notification_id, Notification.claimed_by == worker_id, Notification.status == PENDING)
        .values(
            last_error=error[:MAX_ERROR_CHARS],
            claimed_by=None,
            lease_expires_at=None,
            next_attempt_at=utcnow() + delay,
        )
        .execution_options(synchronize_session=False)
    )
    return (await session.exec(statement)).rowcount == 1


async def count_pending_notifications(*, session: AsyncSession) -> int:
    found = await session.exec(select(func.count()).select_from(Notification).where(Notification.status == PENDING))
    return found.one()


async def get_notification(*, session: AsyncSession, notification_id: int) -> NotificationPublic | None:
    """The notification as stored, with its payload decrypted, or None."""
    notification = await session.get(Notification, notification_id)
    if notification is None:
        return None
    payload = json.loads(cipher_of(session).decrypt(notification.payload_encrypted, purpose=PAYLOAD_PURPOSE))
    return NotificationPublic.model_validate(notification, update={"payload": payload})
