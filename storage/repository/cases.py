"""Anonymous reports ("cases"): opened, followed up with a code and secret, answered by staff, closed.

Nothing here receives, let alone stores, who the reporter is. The code and secret are the only link back;
the secret is shown once (`NewCase.secret`) and only its scrypt hash is kept. A wrong secret, an unknown
code and a malformed one all get the same answer (None) after the same amount of work; wrong secrets
count towards a lockout on the case, without recording who tried."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import secrets_hashing
from storage.errors import CaseClosed, NotFound
from storage.models import CaseMessage, CaseMessagePublic, ReportCase, ReportCasePublic
from storage.repository._common import (
    ANONYMOUS_REPORTER,
    UNIDENTIFIED,
    Actor,
    add_audit,
    check_length,
    cipher_of,
    today,
    utcnow,
)
from storage.repository.outbox import enqueue_notification
from storage.repository.roles import CHAIR_OF_GOVERNORS, HEADTEACHER, SAFEGUARDING_LEAD

OPEN = "open"
CLOSED = "closed"
TEXT_PURPOSE = "report_case.text"
MESSAGE_PURPOSE = "case_message.text"
CLOSE_NOTE_PURPOSE = "report_case.close_note"
# Wrong secrets allowed before the case locks; each further one doubles the lock, up to a day.
FREE_ATTEMPTS = 5
LOCKOUT_BASE = timedelta(minutes=1)
LOCKOUT_MAX = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class NewCase:
    case: ReportCasePublic
    code: str
    # Shown to the reporter once; it is not stored and cannot be recovered.
    secret: str


@dataclass(frozen=True, slots=True)
class CaseView:
    case: ReportCasePublic
    text: str
    messages: list[CaseMessagePublic]
    # What staff wrote when closing the case: in `get_case` (staff) only, never in the reporter's view.
    close_note: str | None = None


async def create_case(
    *, session: AsyncSession, text: str, about_headteacher: bool = False, safeguarding: bool = False
) -> NewCase:
    """Open an anonymous case and notify its recipients: the headteacher, or the chair of governors when the
    report concerns the headteacher; also the designated safeguarding lead when `safeguarding`."""
    check_length(text, what="report")
    if not text.strip():
        raise ValueError("a report needs some text")
    secret = secrets_hashing.new_case_secret()
    secret_hash = await asyncio.to_thread(secrets_hashing.hash_secret, secret)
    code = await _unused_code(session)
    routed_to = CHAIR_OF_GOVERNORS if about_headteacher else HEADTEACHER
    case = ReportCase(
        code=code,
        secret_hash=secret_hash,
        text_encrypted=cipher_of(session).encrypt(text, purpose=TEXT_PURPOSE),
        about_headteacher=about_headteacher,
        routed_to_role=routed_to,
        opened_on=today(),
    )
    session.add(case)
    await session.flush()
    recipients = [routed_to] + ([SAFEGUARDING_LEAD] if safeguarding else [])
    for role in recipients:
        await enqueue_notification(
            session=session,
            recipient_role=role,
            kind="case_opened",
            payload={"case_code": code, "text": text, "about_headteacher": about_headteacher, "safeguarding": safeguarding},
            case_id=case.id,
        )
    add_audit(
        session, actor=ANONYMOUS_REPORTER, action="case.opened", subject_type="case", subject_id=case.id,
        detail=f"case {code} sent to {', '.join(recipients)}",
    )
    return NewCase(case=ReportCasePublic.model_validate(case), code=code, secret=secret)


async def open_case(*, session: AsyncSession, code: str, secret: str) -> CaseView | None:
    """The case with its messages, for its reporter; None for a wrong, unknown or malformed code or secret."""
    case = await _verified_case(session, code, secret)
    return None if case is None else await _view(session, case)


async def add_reporter_message(*, session: AsyncSession, code: str, secret: str, text: str) -> CaseView | None:
    """Add a follow-up from the reporter and notify the case's recipient; None as for `open_case`."""
    check_length(text, what="message")
    case = await _verified_case(session, code, secret)
    if case is None:
        return None
    _ensure_open(case)
    await _add_message(session, case, author="reporter", author_role=None, text=text)
    await enqueue_notification(
        session=session, recipient_role=case.routed_to_role, kind="case_message", payload={"case_code": case.code, "text": text},
        case_id=case.id,
    )
    add_audit(session, actor=ANONYMOUS_REPORTER, action="case.reporter_message", subject_type="case", subject_id=case.id)
    return await _view(session, case)


async def get_case(*, session: AsyncSession, code: str) -> CaseView | None:
    """The case for staff who hold the right role (the caller checks the role)."""
    case = await _case_by_code(session, code)
    return None if case is None else await _view(session, case, for_staff=True)


async def add_staff_reply(*, session: AsyncSession, code: str, text: str, actor: Actor) -> CaseMessagePublic:
    """A reply the reporter reads next time they follow up with their code and secret."""
    check_length(text, what="reply")
    case = await _required_case(session, code)
    _ensure_open(case)
    message = await _add_message(session, case, author="staff", author_role=actor.role, text=text)
    add_audit(session, actor=actor, action="case.staff_reply", subject_type="case", subject_id=case.id, detail=f"case {case.code}")
    return message


async def close_case(*, session: AsyncSession, code: str, actor: Actor, note: str = "") -> ReportCasePublic:
    """Close the case. The note is stored encrypted with the case (see `CaseView.close_note`); the audit
    trail records only that there is one."""
    check_length(note, what="note")
    case = await _required_case(session, code)
    if case.status != CLOSED:
        case.status = CLOSED
        case.closed_on = today()
        if note:
            case.close_note_encrypted = cipher_of(session).encrypt(note, purpose=CLOSE_NOTE_PURPOSE)
        session.add(case)
        add_audit(
            session, actor=actor, action="case.closed", subject_type="case", subject_id=case.id,
            detail=f"case {case.code} closed" + (" with a note" if note else ""),
        )
    return ReportCasePublic.model_validate(case)


async def _verified_case(session: AsyncSession, code: str, secret: str) -> ReportCase | None:
    normal_code = secrets_hashing.normalise_code(code)
    normal_secret = secrets_hashing.normalise_secret(secret)
    case = None if normal_code is None else await _case_by_code(session, normal_code, for_update=True)
    now = utcnow()
    if case is None or normal_secret is None or (case.locked_until is not None and case.locked_until > now):
        # Same work as a real check, so the answer's timing says nothing about why it failed.
        await asyncio.to_thread(secrets_hashing.verify_secret, normal_secret or "", secrets_hashing.dummy_hash())
        if case is not None and normal_secret is None and not (case.locked_until and case.locked_until > now):
            _count_failure(session, case, now)
        return None
    if await asyncio.to_thread(secrets_hashing.verify_secret, normal_secret, case.secret_hash):
        if case.failed_attempts or case.locked_until:
            case.failed_attempts = 0
            case.locked_until = None
            session.add(case)
        return case
    _count_failure(session, case, now)
    return None


def _count_failure(session: AsyncSession, case: ReportCase, now) -> None:
    case.failed_attempts += 1
    if case.failed_attempts >= FREE_ATTEMPTS:
        case.locked_until = now + min(LOCKOUT_BASE * 2 ** (case.failed_attempts - FREE_ATTEMPTS), LOCKOUT_MAX)
    session.add(case)
    add_audit(
        session, actor=UNIDENTIFIED, action="case.wrong_secret", subject_type="case", subject_id=case.id,
        detail=f"{case.failed_attempts} wrong secret(s) in a row" + (", case locked" if case.locked_until else ""),
    )


async def _case_by_code(session: AsyncSession, code: str, *, for_update: bool = False) -> ReportCase | None:
    normal_code = secrets_hashing.normalise_code(code)
    if normal_code is None:
        return None
    statement = select(ReportCase).where(ReportCase.code == normal_code)
    if for_update:
        statement = statement.with_for_update()
    return (await session.exec(statement)).first()


async def _required_case(session: AsyncSession, code: str) -> ReportCase:
    case = await _case_by_code(session, code, for_update=True)
    if case is None:
        raise NotFound(f"There is no case {code!r}.")
    return case


def _ensure_open(case: ReportCase) -> None:
    if case.status == CLOSED:
        raise CaseClosed(f"Case {case.code} is closed; it cannot take new messages.")


async def _unused_code(session: AsyncSession) -> str:
    while True:
        code = secrets_hashing.new_case_code()
        if (await session.exec(select(ReportCase.id).where(ReportCase.code == code))).first() is None:
            return code


async def _add_message(session: AsyncSession, case: ReportCase, *, author: str, author_role: str | None, text: str) -> CaseMessagePublic:
    message = CaseMessage(
        case_id=case.id, author=author, author_role=author_role, sent_on=today(),
        text_encrypted=cipher_of(session).encrypt(text, purpose=MESSAGE_PURPOSE),
    )
    session.add(message)
    await session.flush()
    return CaseMessagePublic.model_validate(message, update={"text": text})


async def _view(session: AsyncSession, case: ReportCase, *, for_staff: bool = False) -> CaseView:
    cipher = cipher_of(session)
    found = await session.exec(select(CaseMessage).where(CaseMessage.case_id == case.id).order_by(CaseMessage.id))
    messages = [
        CaseMessagePublic.model_validate(message, update={"text": cipher.decrypt(message.text_encrypted, purpose=MESSAGE_PURPOSE)})
        for message in found.all()
    ]
    note = case.close_note_encrypted if for_staff else None
    return CaseView(
        case=ReportCasePublic.model_validate(case),
        text=cipher.decrypt(case.text_encrypted, purpose=TEXT_PURPOSE),
        messages=messages,
        close_note=None if note is None else cipher.decrypt(note, purpose=CLOSE_NOTE_PURPOSE),
    )
