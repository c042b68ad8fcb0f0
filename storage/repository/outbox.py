"""The outbox: notifications written in the same transaction as the change that causes them, delivered
by a worker that claims them, and pending until a platform confirms delivery.

A worker claims rows with a lease (`claim_notifications`, in its own short transaction), delivers them
outside any transaction, then confirms (`mark_delivered`) or reports a failure (`mark_failed`). A worker
that dies after claiming leaves the lease to expire, and the row is claimed again: delivery is at least
once, and exactly once while workers finish within their lease."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Notification, NotificationPublic
from storage.repository._common import check_length, cipher_of, start_of_today, utcnow

PENDING = "pending"
DELIVERED = "delivered"
PAYLOAD_PURPOSE = "notification.payload"
DEFAULT_LEASE_SECONDS = 120
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
    *, session: AsyncSession, worker_id: str, limit: int = 20, lease_seconds: float = DEFAULT_LEASE_SECONDS
) -> list[ClaimedNotification]:
    """Claim up to `limit` due rows for `worker_id`, counting an attempt on each. Commit right away.

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
