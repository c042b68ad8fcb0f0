"""Escalations: a staff question passed to the headteacher ("Ask the headteacher"), or a case passed by
staff to another role (e.g. to the designated safeguarding lead). The answer goes back to the requester.

A question may carry a draft post and the policy clauses the advisor quoted. The headteacher answers once,
with a decision (fine, don't post, come and talk) and an optional note; a question left unanswered for
a number of school days is brought back to the recipient once, and the asker is told it is still waiting."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.errors import AlreadyDecided
from storage.models import Escalation, EscalationPublic
from storage.repository._common import SYSTEM, Actor, add_audit, check_length, cipher_of, newest_by_requester, school_days_after, utcnow
from storage.repository._once import actor_columns, change_once, claim_unflagged
from storage.repository.cases import TEXT_PURPOSE, _required_case
from storage.repository.outbox import enqueue_notification
from storage.repository.roles import check_role
from storage.role_names import HEADTEACHER

OPEN = "open"
ANSWERED = "answered"
QUESTION = "question"
QUESTION_PURPOSE = "escalation.question"
RESPONSE_PURPOSE = "escalation.response"
DRAFT_PURPOSE = "escalation.draft"
QUESTION_TOPICS = ("post", "friend", "incident", "other")
QUESTION_DECISIONS = ("fine", "dont_post", "talk")
# Notification kinds about questions.
ESCALATION_OPENED = "escalation_opened"
ESCALATION_ANSWERED = "escalation_answered"
ESCALATION_REMINDER = "escalation_reminder"
ESCALATION_WAITING = "escalation_waiting"
NAME_CHARS = 200
# What the recipient of a question is sent, as stored (the payload adds its id, clauses and time).
OPENED_FIELDS = {"question", "draft", "situation", "verdict", "topic", "requester_platform", "requester_user_id", "requester_name"}


async def create_escalation(
    *,
    session: AsyncSession,
    requester: Actor,
    question: str,
    recipient_role: str = HEADTEACHER,
    situation: str | None = None,
    verdict: str | None = None,
    requester_name: str = "",
    topic: str = "post",
    draft: str = "",
    clauses: Sequence[tuple[str, str]] = (),
    remind_after_school_days: int | None = None,
) -> EscalationPublic:
    """A staff member asks `recipient_role`; the role's holders are notified with the question, the draft
    and the clauses. With `remind_after_school_days`, an unanswered question comes back to them once after
    that many school days (see `send_escalation_reminders`)."""
    check_role(recipient_role)
    check_length(question, what="question")
    check_length(draft, what="draft post")
    check_length(requester_name, what="name", limit=NAME_CHARS)
    if topic not in QUESTION_TOPICS:
        raise ValueError(f"unknown topic {topic!r}; the topics are: {', '.join(QUESTION_TOPICS)}")
    if requester.platform is None or requester.user_id is None:
        raise ValueError("an escalated question needs the requester's platform and user id, to send the answer back")
    clauses_json = json.dumps([[section, quote] for section, quote in clauses], ensure_ascii=False) if clauses else None
    if clauses_json is not None:
        check_length(clauses_json, what="quoted clauses")
    now = utcnow()
    cipher = cipher_of(session)
    escalation = Escalation(
        kind=QUESTION,
        requester_platform=requester.platform,
        requester_user_id=requester.user_id,
        requester_name=requester_name,
        recipient_role=recipient_role,
        situation=situation,
        verdict=verdict,
        topic=topic,
        question_encrypted=cipher.encrypt(question, purpose=QUESTION_PURPOSE),
        draft_encrypted=cipher.encrypt(draft, purpose=DRAFT_PURPOSE) if draft else None,
        clauses=clauses_json,
        created_at=now,
        remind_at=None if remind_after_school_days is None else school_days_after(now, remind_after_school_days),
    )
    session.add(escalation)
    await session.flush()
    public = _public(session, escalation)
    await enqueue_notification(session=session, recipient_role=recipient_role, kind=ESCALATION_OPENED, payload=_opened_payload(public))
    add_audit(session, actor=requester, action="escalation.opened", subject_type="escalation", subject_id=escalation.id, detail=f"to {recipient_role}")
    return public


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


async def answer_escalation(
    *,
    session: AsyncSession,
    escalation_id: int,
    actor: Actor,
    response: str = "",
    decision: str | None = None,
    responder_name: str = "",
) -> EscalationPublic:
    """Record the answer (once: a second answer raises AlreadyDecided) and send it to the requester.
    `decision` is one of QUESTION_DECISIONS, or None for a plain answer; `response` is the note with it."""
    check_length(response, what="answer")
    check_length(responder_name, what="name", limit=NAME_CHARS)
    if decision is not None and decision not in QUESTION_DECISIONS:
        raise ValueError(f"unknown decision {decision!r}; the decisions are: {', '.join(QUESTION_DECISIONS)}")
    escalation, answered = await change_once(
        session, Escalation, escalation_id, from_status=OPEN, what="escalation",
        status=ANSWERED, resolved_at=utcnow(), resolved_by_name=responder_name, decision=decision,
        response_encrypted=cipher_of(session).encrypt(response, purpose=RESPONSE_PURPOSE), **actor_columns("resolved_by", actor),
    )
    if not answered:
        raise AlreadyDecided(f"Escalation {escalation_id} was already answered.")
    public = _public(session, escalation)
    if escalation.requester_user_id is not None:
        await enqueue_notification(
            session=session,
            recipient_platform=escalation.requester_platform,
            recipient_user_id=escalation.requester_user_id,
            kind=ESCALATION_ANSWERED,
            payload={
                "escalation_id": escalation.id,
                "question": public.question,
                "decision": decision,
                "note": response,
                "responder_role": actor.role,
                "responder_name": responder_name,
                "topic": escalation.topic,
            },
        )
    # The note itself is stored encrypted (response_encrypted); the audit trail only says there is one.
    detail = ", ".join(part for part in (decision, "with a note" if response else None) if part) or None
    add_audit(session, actor=actor, action="escalation.answered", subject_type="escalation", subject_id=escalation.id, detail=detail)
    return public


async def send_escalation_reminders(*, session: AsyncSession, now: datetime | None = None) -> int:
    """Bring each question still open at its `remind_at` back to its recipient role, and tell the asker it
    is still waiting. Once per question, even with two processes at it; returns how many were reminded."""
    due = await claim_unflagged(
        session, Escalation, "reminded",
        Escalation.kind == QUESTION, Escalation.status == OPEN, col(Escalation.remind_at) <= (now or utcnow()),
    )
    for escalation in due:
        public = _public(session, escalation)
        await enqueue_notification(
            session=session, recipient_role=escalation.recipient_role, kind=ESCALATION_REMINDER,
            payload={**_opened_payload(public), "reminder": True},
        )
        await enqueue_notification(
            session=session,
            recipient_platform=escalation.requester_platform,
            recipient_user_id=escalation.requester_user_id,
            kind=ESCALATION_WAITING,
            payload={"escalation_id": escalation.id, "question": public.question, "asked_at": escalation.created_at.isoformat()},
        )
        add_audit(
            session, actor=SYSTEM, action="escalation.reminder", subject_type="escalation", subject_id=escalation.id,
            detail=f"to {escalation.recipient_role}",
        )
    return len(due)


async def list_open_escalations(*, session: AsyncSession, limit: int = 20) -> list[EscalationPublic]:
    """Questions not answered yet, oldest first."""
    found = await session.exec(_open_questions(select(Escalation)).order_by(Escalation.created_at, Escalation.id).limit(limit))
    return [_public(session, escalation) for escalation in found.all()]


async def count_open_escalations(*, session: AsyncSession) -> int:
    return (await session.exec(_open_questions(select(func.count()).select_from(Escalation)))).one()


async def list_escalations_by_requester(
    *, session: AsyncSession, platform: str, user_id: str, limit: int = 10
) -> list[EscalationPublic]:
    """What one member of staff asked, newest first."""
    found = await session.exec(newest_by_requester(Escalation, platform=platform, user_id=user_id, limit=limit))
    return [_public(session, escalation) for escalation in found.all()]


async def get_escalation(*, session: AsyncSession, escalation_id: int) -> EscalationPublic | None:
    escalation = await session.get(Escalation, escalation_id)
    return None if escalation is None else _public(session, escalation)


def _open_questions(statement):
    return statement.where(Escalation.kind == QUESTION, Escalation.status == OPEN)


def _opened_payload(escalation: EscalationPublic) -> dict:
    return {
        "escalation_id": escalation.id,
        **escalation.model_dump(include=OPENED_FIELDS),
        "clauses": [list(pair) for pair in escalation.clause_pairs],
        "asked_at": escalation.created_at.isoformat(),
    }


def _public(session: AsyncSession, escalation: Escalation) -> EscalationPublic:
    cipher = cipher_of(session)
    response = escalation.response_encrypted
    draft = escalation.draft_encrypted
    return EscalationPublic.model_validate(
        escalation,
        update={
            "question": cipher.decrypt(escalation.question_encrypted, purpose=QUESTION_PURPOSE),
            "response": None if response is None else cipher.decrypt(response, purpose=RESPONSE_PURPOSE),
            "draft": "" if draft is None else cipher.decrypt(draft, purpose=DRAFT_PURPOSE),
            "clause_pairs": [tuple(pair) for pair in json.loads(escalation.clauses or "[]")],
        },
    )
