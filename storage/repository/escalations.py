"""Escalations: a staff question passed to the headteacher ("Ask the headteacher"), or a case passed by
staff to another role (e.g. to the designated safeguarding lead). The answer goes back to the requester."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.errors import AlreadyDecided, NotFound
from storage.models import Escalation, EscalationPublic
from storage.repository._common import Actor, add_audit, check_length, cipher_of, utcnow
from storage.repository.cases import TEXT_PURPOSE, _required_case
from storage.repository.outbox import enqueue_notification
from storage.repository.roles import HEADTEACHER, check_role

OPEN = "open"
ANSWERED = "answered"
QUESTION_PURPOSE = "escalation.question"
RESPONSE_PURPOSE = "escalation.response"


async def create_escalation(
    *,
    session: AsyncSession,
    requester: Actor,
    question: str,
    recipient_role: str = HEADTEACHER,
    situation: str | None = None,
    verdict: str | None = None,
) -> EscalationPublic:
    """A staff member asks `recipient_role`; the role's holders are notified with the question."""
    check_role(recipient_role)
    check_length(question, what="question")
    if requester.platform is None or requester.user_id is None:
        raise ValueError("an escalated question needs the requester's platform and user id, to send the answer back")
    escalation = Escalation(
        kind="question",
        requester_platform=requester.platform,
        requester_user_id=requester.user_id,
        recipient_role=recipient_role,
        situation=situation,
        verdict=verdict,
        question_encrypted=cipher_of(session).encrypt(question, purpose=QUESTION_PURPOSE),
        created_at=utcnow(),
    )
    session.add(escalation)
    await session.flush()
    await enqueue_notification(
        session=session,
        recipient_role=recipient_role,
        kind="escalation_opened",
        payload={
            "escalation_id": escalation.id,
            "question": question,
            "situation": situation,
            "verdict": verdict,
            "requester_platform": requester.platform,
            "requester_user_id": requester.user_id,
        },
    )
    add_audit(session, actor=requester, action="escalation.opened", subject_type="escalation", subject_id=escalation.id, detail=f"to {recipient_role}")
    return _public(session, escalation)


async def escalate_case(*, session: AsyncSession, code: str, to_role: str, actor: Actor, note: str = "") -> EscalationPublic:
    """Staff pass an anonymous case on to another role, whose holders are notified with the report."""
    check_role(to_role)
    check_length(note, what="note")
    case = await _required_case(session, code)
    cipher = cipher_of(session)
    escalation = Escalation(
        kind="case",
        case_id=case.id,
        recipient_role=to_role,
        question_encrypted=cipher.encrypt(note, purpose=QUESTION_PURPOSE),
        created_at=utcnow(),
    )
    session.add(escalation)
    await session.flush()
    await enqueue_notification(
        session=session,
        recipient_role=to_role,
        kind="case_escalated",
        payload={
            "escalation_id": escalation.id,
            "case_code": case.code,
            "text": cipher.decrypt(case.text_encrypted, purpose=TEXT_PURPOSE),
            "note": note,
            "from_role": actor.role,
        },
        case_id=case.id,
    )
    # The note itself is stored encrypted (question_encrypted); the audit trail only says there is one.
    add_audit(
        session, actor=actor, action="case.escalated", subject_type="case", subject_id=case.id,
        detail=f"case {case.code} passed to {to_role}" + (" with a note" if note else ""),
    )
    return _public(session, escalation)


async def answer_escalation(*, session: AsyncSession, escalation_id: int, actor: Actor, response: str) -> EscalationPublic:
    """Record the answer (once: a second answer raises AlreadyDecided) and send it to the requester."""
    check_length(response, what="answer")
    now = utcnow()
    result = await session.exec(
        update(Escalation)
        .where(Escalation.id == escalation_id, Escalation.status == OPEN)
        .values(
            status=ANSWERED,
            resolved_at=now,
            resolved_by_role=actor.role,
            response_encrypted=cipher_of(session).encrypt(response, purpose=RESPONSE_PURPOSE),
        )
        .execution_options(synchronize_session=False)
    )
    escalation = await session.get(Escalation, escalation_id, populate_existing=True)
    if escalation is None:
        raise NotFound(f"There is no escalation {escalation_id}.")
    if result.rowcount != 1:
        raise AlreadyDecided(f"Escalation {escalation_id} was already answered.")
    public = _public(session, escalation)
    if escalation.requester_user_id is not None:
        await enqueue_notification(
            session=session,
            recipient_platform=escalation.requester_platform,
            recipient_user_id=escalation.requester_user_id,
            kind="escalation_answered",
            payload={"escalation_id": escalation.id, "question": public.question, "response": response, "responder_role": actor.role},
        )
    add_audit(session, actor=actor, action="escalation.answered", subject_type="escalation", subject_id=escalation.id)
    return public


async def get_escalation(*, session: AsyncSession, escalation_id: int) -> EscalationPublic | None:
    escalation = await session.get(Escalation, escalation_id)
    return None if escalation is None else _public(session, escalation)


def _public(session: AsyncSession, escalation: Escalation) -> EscalationPublic:
    cipher = cipher_of(session)
    response = escalation.response_encrypted
    return EscalationPublic.model_validate(
        escalation,
        update={
            "question": cipher.decrypt(escalation.question_encrypted, purpose=QUESTION_PURPOSE),
            "response": None if response is None else cipher.decrypt(response, purpose=RESPONSE_PURPOSE),
        },
    )
