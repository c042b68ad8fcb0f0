"""Removal requests: staff ask for something to be taken down; the headteacher approves or rejects once,
and the requester is told."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.errors import AlreadyDecided, NotFound
from storage.models import RemovalRequest, RemovalRequestPublic
from storage.repository._common import Actor, add_audit, check_length, cipher_of, utcnow
from storage.repository.outbox import enqueue_notification
from storage.repository.roles import HEADTEACHER

PENDING = "pending"
APPROVED = "approved"
REJECTED = "rejected"
DESCRIPTION_PURPOSE = "removal_request.description"
NOTE_PURPOSE = "removal_request.note"


async def create_removal_request(
    *, session: AsyncSession, requester: Actor, description: str, decider_role: str = HEADTEACHER
) -> RemovalRequestPublic:
    check_length(description, what="removal request")
    if requester.platform is None or requester.user_id is None:
        raise ValueError("a removal request needs the requester's platform and user id, to tell them the decision")
    request = RemovalRequest(
        requester_platform=requester.platform,
        requester_user_id=requester.user_id,
        description_encrypted=cipher_of(session).encrypt(description, purpose=DESCRIPTION_PURPOSE),
        created_at=utcnow(),
    )
    session.add(request)
    await session.flush()
    await enqueue_notification(
        session=session,
        recipient_role=decider_role,
        kind="removal_requested",
        payload={
            "request_id": request.id,
            "description": description,
            "requester_platform": requester.platform,
            "requester_user_id": requester.user_id,
        },
    )
    add_audit(session, actor=requester, action="removal_request.created", subject_type="removal_request", subject_id=request.id)
    return _public(session, request)


async def decide_removal_request(
    *, session: AsyncSession, request_id: int, actor: Actor, approve: bool, note: str = ""
) -> RemovalRequestPublic:
    """Approve or reject. The first decision stands: a second (a double click, a second headteacher)
    raises AlreadyDecided and changes nothing."""
    check_length(note, what="decision note")
    status = APPROVED if approve else REJECTED
    result = await session.exec(
        update(RemovalRequest)
        .where(RemovalRequest.id == request_id, RemovalRequest.status == PENDING)
        .values(
            status=status,
            decided_at=utcnow(),
            decided_by_role=actor.role,
            decided_by_platform=actor.platform,
            decided_by_user_id=actor.user_id,
            decision_note_encrypted=cipher_of(session).encrypt(note, purpose=NOTE_PURPOSE) if note else None,
        )
        .execution_options(synchronize_session=False)
    )
    request = await session.get(RemovalRequest, request_id, populate_existing=True)
    if request is None:
        raise NotFound(f"There is no removal request {request_id}.")
    if result.rowcount != 1:
        raise AlreadyDecided(f"Removal request {request_id} was already {request.status}.")
    public = _public(session, request)
    await enqueue_notification(
        session=session,
        recipient_platform=request.requester_platform,
        recipient_user_id=request.requester_user_id,
        kind="removal_decided",
        payload={"request_id": request.id, "status": status, "note": note, "decider_role": actor.role, "description": public.description},
    )
    # The note itself is stored encrypted (decision_note_encrypted); the audit trail only says there is one.
    add_audit(
        session, actor=actor, action=f"removal_request.{status}", subject_type="removal_request", subject_id=request.id,
        detail="with a note" if note else None,
    )
    return public


async def get_removal_request(*, session: AsyncSession, request_id: int) -> RemovalRequestPublic | None:
    request = await session.get(RemovalRequest, request_id)
    return None if request is None else _public(session, request)


def _public(session: AsyncSession, request: RemovalRequest) -> RemovalRequestPublic:
    cipher = cipher_of(session)
    note = request.decision_note_encrypted
    return RemovalRequestPublic.model_validate(
        request,
        update={
            "description": cipher.decrypt(request.description_encrypted, purpose=DESCRIPTION_PURPOSE),
            "decision_note": None if note is None else cipher.decrypt(note, purpose=NOTE_PURPOSE),
        },
    )
