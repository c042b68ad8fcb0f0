"""Removal requests: staff ask for something to be taken down; the headteacher (or deputy) approves or rejects
once, and the requester is told. A decider may also issue a removal notice directly, without a request.

An approved removal has a deadline and someone who acts on it: the member of staff who posted it, when they
were named with their platform id; otherwise whoever runs the school's accounts for a post there, and the
headteacher for everything else (they pass it on to the parent or to the site). Whoever acts confirms the
removal once; a removal not confirmed by its deadline is brought back once, to them and to the headteacher."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.errors import AlreadyDecided, NotFound
from storage.models import RemovalRequest, RemovalRequestPublic, RoleHolder
from storage.repository._common import SYSTEM, Actor, add_audit, check_length, cipher_of, newest_by_requester, utcnow
from storage.repository._once import actor_columns, change_once, claim_unflagged
from storage.repository.outbox import enqueue_notification
from storage.repository.roles import check_role
from storage.role_names import DECIDER_ROLES, HEADTEACHER, SCHOOL_ACCOUNTS

PENDING = "pending"
APPROVED = "approved"
REJECTED = "rejected"
REMOVED = "removed"
# Where a request comes from: staff asked, or a decider issued a notice directly.
REQUEST = "request"
NOTICE = "notice"
SCHOOL_ACCOUNT = "school_account"
LOCATIONS = (SCHOOL_ACCOUNT, "colleague", "parent", "elsewhere")
DESCRIPTION_PURPOSE = "removal_request.description"
NOTE_PURPOSE = "removal_request.note"
REASON_PURPOSE = "removal_request.reason"
# Notification kinds about removals.
REMOVAL_REQUESTED = "removal_requested"
REMOVAL_DECIDED = "removal_decided"
REMOVAL_NOTICE = "removal_notice"
REMOVAL_DONE = "removal_done"
REMOVAL_OVERDUE = "removal_overdue"
NAME_CHARS = 200
SUBJECT = "removal_request"
# What every notification about a removal says of it (with its id).
CLAUSE_FIELDS = {"description", "location", "reason", "clause_section", "clause_text"}


@dataclass(frozen=True, slots=True)
class Poster:
    """The member of staff who posted what must come down. Without a platform and user id they cannot be
    messaged, and the removal goes to a role instead."""

    platform: str | None
    user_id: str | None
    name: str


async def create_removal_request(
    *,
    session: AsyncSession,
    requester: Actor,
    description: str,
    requester_name: str = "",
    location: str = "elsewhere",
    reason: str = "",
    clause_section: str | None = None,
    clause_text: str | None = None,
    poster: Poster | None = None,
    decider_role: str = HEADTEACHER,
) -> RemovalRequestPublic:
    """Staff ask for something to be taken down; `decider_role` is notified and decides."""
    check_role(decider_role)
    request = _new_request(
        session, requester=requester, requester_name=requester_name, description=description, location=location,
        reason=reason, clause_section=clause_section, clause_text=clause_text, poster=poster,
    )
    session.add(request)
    await session.flush()
    public = _public(session, request)
    await enqueue_notification(
        session=session,
        recipient_role=decider_role,
        kind=REMOVAL_REQUESTED,
        payload={
            **_clause_payload(public),
            "poster_name": public.poster_name,
            # So the card can show the poster the platform's way (a Slack mention) when no name was given.
            "poster_platform": public.poster_platform,
            "poster_user_id": public.poster_user_id,
            "requester_platform": public.requester_platform,
            "requester_user_id": public.requester_user_id,
            "requester_name": public.requester_name,
            "requested_at": public.created_at.isoformat(),
        },
    )
    add_audit(session, actor=requester, action="removal_request.created", subject_type=SUBJECT, subject_id=request.id, detail=f"to {decider_role}")
    return public


async def decide_removal_request(
    *,
    session: AsyncSession,
    request_id: int,
    actor: Actor,
    approve: bool,
    note: str = "",
    decider_name: str = "",
    deadline_hours: float = 24,
) -> RemovalRequestPublic:
    """Approve or reject. The first decision stands: a second (a double click, a second headteacher)
    raises AlreadyDecided and changes nothing. An approved removal is due in `deadline_hours`; whoever
    must act is sent a notice, and the requester hears the decision either way."""
    check_length(note, what="decision note")
    check_length(decider_name, what="name", limit=NAME_CHARS)
    request = await session.get(RemovalRequest, request_id)
    if request is None:
        raise NotFound(f"There is no removal request {request_id}.")
    status = APPROVED if approve else REJECTED
    now = utcnow()
    # Where it is and who posted it never change, so who acts can be worked out before the decision is claimed.
    acting = (
        {"due_at": now + timedelta(hours=deadline_hours), "actor_role": await _actor_role(session, request)} if approve else {}
    )
    request, decided = await change_once(
        session, RemovalRequest, request_id, from_status=PENDING, what="removal request",
        status=status, decided_at=now, decided_by_name=decider_name,
        decision_note_encrypted=cipher_of(session).encrypt(note, purpose=NOTE_PURPOSE) if note else None,
        **actor_columns("decided_by", actor), **acting,
    )
    if not decided:
        raise AlreadyDecided(f"Removal request {request_id} was already {request.status}.")
    public = _public(session, request)
    if approve:
        await _notify_actor(session, public, payload=_notice_payload(public, overdue=False))
    await enqueue_notification(
        session=session,
        recipient_platform=request.requester_platform,
        recipient_user_id=request.requester_user_id,
        kind=REMOVAL_DECIDED,
        payload={
            "request_id": request.id,
            "status": status,
            "note": note,
            "decider_role": actor.role,
            "decider_name": decider_name,
            "description": public.description,
            "due_at": _iso(public.due_at),
            "acting": _acting(public),
        },
    )
    # The note itself is stored encrypted (decision_note_encrypted); the audit trail only says there is one.
    add_audit(
        session, actor=actor, action=f"removal_request.{status}", subject_type=SUBJECT, subject_id=request.id,
        detail="with a note" if note else None,
    )
    return public


async def issue_removal_notice(
    *,
    session: AsyncSession,
    decider: Actor,
    description: str,
    decider_name: str = "",
    location: str = "elsewhere",
    reason: str = "",
    clause_section: str | None = None,
    clause_text: str | None = None,
    poster: Poster | None = None,
    deadline_hours: float = 24,
) -> RemovalRequestPublic:
    """A decider tells whoever must act to take something down, with no request first: approved at once,
    with the decider as its requester, so that they hear when it is removed."""
    check_length(decider_name, what="name", limit=NAME_CHARS)
    now = utcnow()
    request = _new_request(
        session, requester=decider, requester_name=decider_name, description=description, location=location,
        reason=reason, clause_section=clause_section, clause_text=clause_text, poster=poster,
        origin=NOTICE, status=APPROVED, decided_at=now, decided_by_name=decider_name, due_at=now + timedelta(hours=deadline_hours),
        **actor_columns("decided_by", decider),
    )
    request.actor_role = await _actor_role(session, request)
    session.add(request)
    await session.flush()
    public = _public(session, request)
    await _notify_actor(session, public, payload=_notice_payload(public, overdue=False))
    add_audit(session, actor=decider, action="removal_notice.issued", subject_type=SUBJECT, subject_id=request.id, detail=_audit_acting(public))
    return public


async def confirm_removed(*, session: AsyncSession, request_id: int, actor: Actor, actor_name: str = "") -> RemovalRequestPublic:
    """Whoever acted confirms it was taken down. Once: only an approved removal becomes removed; anything
    else raises AlreadyDecided. The requester and the headteacher hear, unless it was they who removed it."""
    check_length(actor_name, what="name", limit=NAME_CHARS)
    now = utcnow()
    request, removed = await change_once(
        session, RemovalRequest, request_id, from_status=APPROVED, what="removal request",
        status=REMOVED, removed_at=now, removed_by_name=actor_name, **actor_columns("removed_by", actor),
    )
    if not removed:
        state = "was already removed" if request.status == REMOVED else f"is {request.status}, not approved"
        raise AlreadyDecided(f"Removal request {request_id} {state}.")
    public = _public(session, request)
    payload = {"request_id": request.id, "description": public.description, "removed_by_name": actor_name, "removed_at": now.isoformat()}
    if (request.requester_platform, request.requester_user_id) != (actor.platform, actor.user_id):
        await enqueue_notification(
            session=session, recipient_platform=request.requester_platform, recipient_user_id=request.requester_user_id,
            kind=REMOVAL_DONE, payload=payload,
        )
    if actor.role not in DECIDER_ROLES:  # a decider who took it down themselves needs no message about it
        await enqueue_notification(session=session, recipient_role=HEADTEACHER, kind=REMOVAL_DONE, payload=payload)
    add_audit(session, actor=actor, action="removal_request.removed", subject_type=SUBJECT, subject_id=request.id)
    return public


async def send_removal_reminders(*, session: AsyncSession, now: datetime | None = None) -> int:
    """Bring each approved removal not confirmed by its deadline back to whoever acts, and tell the
    headteacher who has not acted. Once per removal, even with two processes at it; returns how many."""
    overdue = await claim_unflagged(
        session, RemovalRequest, "overdue_reminded",
        RemovalRequest.status == APPROVED, col(RemovalRequest.due_at) <= (now or utcnow()),
    )
    for request in overdue:
        public = _public(session, request)
        payload = _notice_payload(public, overdue=True)
        await _notify_actor(session, public, payload=payload, kind=REMOVAL_OVERDUE)
        # When the headteacher is the one to act, the reminder above already reached them.
        if public.actor_role != HEADTEACHER:
            await enqueue_notification(
                session=session, recipient_role=HEADTEACHER, kind=REMOVAL_OVERDUE,
                payload={**payload, "for_decider": True, "acting": _acting(public)},
            )
        add_audit(
            session, actor=SYSTEM, action="removal_request.overdue", subject_type=SUBJECT, subject_id=request.id,
            detail=_audit_acting(public),
        )
    return len(overdue)


async def list_removal_requests(*, session: AsyncSession, statuses: Sequence[str], limit: int = 20) -> list[RemovalRequestPublic]:
    """Requests and notices in any of `statuses`, oldest first."""
    found = await session.exec(
        select(RemovalRequest)
        .where(col(RemovalRequest.status).in_(statuses))
        .order_by(RemovalRequest.created_at, RemovalRequest.id)
        .limit(limit)
    )
    return [_public(session, request) for request in found.all()]


async def count_removal_requests(*, session: AsyncSession, statuses: Sequence[str]) -> int:
    found = await session.exec(select(func.count()).select_from(RemovalRequest).where(col(RemovalRequest.status).in_(statuses)))
    return found.one()


async def list_removal_notices_for(
    *, session: AsyncSession, platform: str, user_id: str, roles: set[str], limit: int = 20
) -> list[RemovalRequestPublic]:
    """Approved removals this person must act on, as the poster or through one of `roles`; soonest due first."""
    mine = (RemovalRequest.poster_platform == platform) & (RemovalRequest.poster_user_id == user_id) & col(RemovalRequest.actor_role).is_(None)
    found = await session.exec(
        select(RemovalRequest)
        .where(RemovalRequest.status == APPROVED, or_(mine, col(RemovalRequest.actor_role).in_(sorted(roles))))
        .order_by(RemovalRequest.due_at, RemovalRequest.id)
        .limit(limit)
    )
    return [_public(session, request) for request in found.all()]


async def list_removals_by_requester(
    *, session: AsyncSession, platform: str, user_id: str, limit: int = 10
) -> list[RemovalRequestPublic]:
    """What one member of staff asked to be removed (and the notices a decider issued), newest first."""
    found = await session.exec(newest_by_requester(RemovalRequest, platform=platform, user_id=user_id, limit=limit))
    return [_public(session, request) for request in found.all()]


async def get_removal_request(*, session: AsyncSession, request_id: int) -> RemovalRequestPublic | None:
    request = await session.get(RemovalRequest, request_id)
    return None if request is None else _public(session, request)


def _new_request(
    session: AsyncSession,
    *,
    requester: Actor,
    requester_name: str,
    description: str,
    location: str,
    reason: str,
    clause_section: str | None,
    clause_text: str | None,
    poster: Poster | None,
    **columns,
) -> RemovalRequest:
    """A request, checked: pending unless `columns` say otherwise (a notice is approved at once)."""
    check_length(description, what="removal request")
    check_length(reason, what="reason")
    check_length(requester_name, what="name", limit=NAME_CHARS)
    check_length(clause_section or "", what="clause section", limit=NAME_CHARS)
    check_length(clause_text or "", what="clause")
    if location not in LOCATIONS:
        raise ValueError(f"unknown location {location!r}; the locations are: {', '.join(LOCATIONS)}")
    if requester.platform is None or requester.user_id is None:
        raise ValueError("a removal request needs the requester's platform and user id, to tell them the decision")
    poster = poster or Poster(platform=None, user_id=None, name="")
    check_length(poster.name, what="poster's name", limit=NAME_CHARS)
    # A poster is messaged only with both a platform and a user id; half of one would be an unreachable recipient.
    reachable = poster.platform is not None and poster.user_id is not None
    cipher = cipher_of(session)
    return RemovalRequest(
        requester_platform=requester.platform,
        requester_user_id=requester.user_id,
        requester_name=requester_name,
        description_encrypted=cipher.encrypt(description, purpose=DESCRIPTION_PURPOSE),
        reason_encrypted=cipher.encrypt(reason, purpose=REASON_PURPOSE) if reason else None,
        location=location,
        clause_section=clause_section,
        clause_text=clause_text,
        poster_platform=poster.platform if reachable else None,
        poster_user_id=poster.user_id if reachable else None,
        poster_name=poster.name,
        created_at=utcnow(),
        **columns,
    )


async def _actor_role(session: AsyncSession, request: RemovalRequest) -> str | None:
    """Who takes an approved removal down: None for the poster themselves; else the school's accounts role
    for a post on the school's account, when someone holds it; else the headteacher, who passes it on."""
    if request.poster_platform is not None and request.poster_user_id is not None:
        return None
    if request.location == SCHOOL_ACCOUNT:
        held = await session.exec(select(RoleHolder.id).where(RoleHolder.role == SCHOOL_ACCOUNTS).limit(1))
        if held.first() is not None:
            return SCHOOL_ACCOUNTS
    return HEADTEACHER


async def _notify_actor(session: AsyncSession, request: RemovalRequestPublic, *, payload: dict, kind: str = REMOVAL_NOTICE) -> None:
    if request.actor_role is None:
        await enqueue_notification(
            session=session, recipient_platform=request.poster_platform, recipient_user_id=request.poster_user_id, kind=kind, payload=payload
        )
    else:
        await enqueue_notification(session=session, recipient_role=request.actor_role, kind=kind, payload=payload)


def _acting(request: RemovalRequestPublic) -> str:
    """Who acts, as the requester and the headteacher are told: the poster's name, or the role."""
    if request.status not in (APPROVED, REMOVED):
        return ""
    return request.poster_name if request.actor_role is None else request.actor_role


def _audit_acting(request: RemovalRequestPublic) -> str:
    # Not the poster's name: audit details hold no text that staff typed.
    return "to the poster" if request.actor_role is None else f"to {request.actor_role}"


def _clause_payload(request: RemovalRequestPublic) -> dict:
    return {"request_id": request.id, **request.model_dump(include=CLAUSE_FIELDS)}


def _notice_payload(request: RemovalRequestPublic, *, overdue: bool) -> dict:
    return {
        **_clause_payload(request),
        "due_at": _iso(request.due_at),
        "decider_role": request.decided_by_role,
        "decider_name": request.decided_by_name,
        # Who acts: the headteacher's notice says how to get a post down that nobody in school can remove.
        "actor_role": request.actor_role,
        "overdue": overdue,
    }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _public(session: AsyncSession, request: RemovalRequest) -> RemovalRequestPublic:
    cipher = cipher_of(session)
    note = request.decision_note_encrypted
    reason = request.reason_encrypted
    return RemovalRequestPublic.model_validate(
        request,
        update={
            "description": cipher.decrypt(request.description_encrypted, purpose=DESCRIPTION_PURPOSE),
            "decision_note": None if note is None else cipher.decrypt(note, purpose=NOTE_PURPOSE),
            "reason": "" if reason is None else cipher.decrypt(reason, purpose=REASON_PURPOSE),
        },
    )
