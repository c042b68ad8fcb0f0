"""Helpers shared by the repository modules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.crypto import Cipher
from storage.errors import TextTooLong
from storage.models import AuditEvent

# Longest report, message, question or description accepted (characters).
MAX_TEXT_CHARS = 20_000

ANONYMOUS_REPORTER_ROLE = "anonymous_reporter"
# Someone who typed a case code and secret that did not match: we do not know, and do not record, who.
UNIDENTIFIED_ROLE = "unidentified"
SYSTEM_ROLE = "system"
# Actions by these are recorded without platform identity and with the day only, not the time.
UNTRACEABLE_ROLES = frozenset({ANONYMOUS_REPORTER_ROLE, UNIDENTIFIED_ROLE})
CASE_SUBJECT = "case"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did something, for the audit trail: a role and, for staff, their platform and user id."""

    role: str
    platform: str | None = None
    user_id: str | None = None


ANONYMOUS_REPORTER = Actor(role=ANONYMOUS_REPORTER_ROLE)
UNIDENTIFIED = Actor(role=UNIDENTIFIED_ROLE)
SYSTEM = Actor(role=SYSTEM_ROLE)


def utcnow() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    return utcnow().date()


def start_of_today() -> datetime:
    return datetime.combine(today(), datetime.min.time(), tzinfo=UTC)


def school_days_after(start: datetime, days: int) -> datetime:
    """The same time of day `days` weekdays after `start`, Saturdays and Sundays skipped: Friday 10:00 + 2 is
    Tuesday 10:00, and so is Saturday 10:00 + 2. Weekdays are counted in `start`'s time zone. Term dates and
    bank holidays are not known here, so a deadline may fall in a holiday."""
    if days < 0:
        raise ValueError("days must be 0 or more")
    moment = start
    while days:
        moment += timedelta(days=1)
        if moment.weekday() < 5:
            days -= 1
    return moment


def cipher_of(session: AsyncSession) -> Cipher:
    try:
        return session.info["cipher"]
    except KeyError:
        raise RuntimeError("use a session from Database.transaction(): it carries the encryption key") from None


def dialect_of(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def insert_for(session: AsyncSession, model):
    """An INSERT that supports ON CONFLICT on the session's database."""
    return (postgresql.insert if dialect_of(session) == "postgresql" else sqlite.insert)(model)


def check_length(text: str, *, what: str, limit: int = MAX_TEXT_CHARS) -> None:
    if len(text) > limit:
        raise TextTooLong(what=what, length=len(text), limit=limit)


def add_audit(
    session: AsyncSession, *, actor: Actor, action: str, subject_type: str, subject_id: object = None, detail: str | None = None
) -> None:
    # The anonymous reporter's actions are kept to the day, so their time cannot be matched with platform logs;
    # so is everything else that happens to a case (a staff reply's time could point at the reporter's message).
    anonymous = actor.role in UNTRACEABLE_ROLES
    session.add(
        AuditEvent(
            occurred_at=start_of_today() if anonymous or subject_type == CASE_SUBJECT else utcnow(),
            actor_role=actor.role,
            actor_platform=None if anonymous else actor.platform,
            actor_user_id=None if anonymous else actor.user_id,
            action=action,
            subject_type=subject_type,
            subject_id=None if subject_id is None else str(subject_id),
            detail=detail,
        )
    )


def newest_by_requester(model, *, platform: str, user_id: str, limit: int):
    """What one member of staff asked for (questions, removal requests), newest first."""
    return (
        select(model)
        .where(model.requester_platform == platform, model.requester_user_id == user_id)
        .order_by(col(model.created_at).desc(), col(model.id).desc())
        .limit(limit)
    )
