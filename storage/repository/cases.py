"""Anonymous reports ("cases"): opened, followed up with a code and secret, answered by staff, closed.

Nothing here receives, let alone stores, who the reporter is. The code and secret are the only link back;
the secret is shown once (`NewCase.secret`) and only its scrypt hash is kept. A wrong secret, an unknown
code and a malformed one all get the same answer (None) after the same amount of work; wrong secrets
count towards a lockout on the case, without recording who tried."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import and_, false, or_
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import secrets_hashing
from storage.errors import CaseClosed, NotFound, TextTooLong
from storage.models import (
    CaseEvidence,
    CaseEvidencePublic,
    CaseMessage,
    CaseMessagePublic,
    CaseReporter,
    CaseReporterPublic,
    ReportCase,
    ReportCasePublic,
    RoleHolder,
)
from storage.repository._common import (
    ANONYMOUS_REPORTER,
    SYSTEM,
    UNIDENTIFIED,
    Actor,
    add_audit,
    check_length,
    cipher_of,
    today,
    utcnow,
)
from storage.repository.outbox import enqueue_notification
from storage.role_names import CHAIR_OF_GOVERNORS, HEADTEACHER, SAFEGUARDING_LEAD

OPEN = "open"
ACKNOWLEDGED = "acknowledged"
CLOSED = "closed"
TEXT_PURPOSE = "report_case.text"
DETAILS_PURPOSE = "report_case.details"
REPORTER_PURPOSE = "case_reporter.name"
EVIDENCE_PURPOSE = "case_evidence.content"
NAMED_REPORTER_ROLE = "named_reporter"
# Notification kinds about cases.
CASE_OPENED = "case_opened"
CASE_MESSAGE = "case_message"
CASE_REMINDER = "case_reminder"
CASE_UPDATE_FOR_REPORTER = "case_update_for_reporter"
SUMMARY_CHARS = 280
MAX_EVIDENCE_BYTES = 8 * 1024 * 1024
# Deadlines, in days from the day a case was opened.
ACKNOWLEDGE_REMINDER_DAYS = 2
ACKNOWLEDGE_LAST_REMINDER_DAYS = 6
FEEDBACK_REMINDER_DAYS = 83
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
    # The roles told of it, and those of them that nobody holds yet (the report waits for them).
    recipients: tuple[str, ...] = ()
    unheld_roles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NamedReporter:
    """A reporter who chose to give their name. `platform` and `user_id` only when they asked to be
    messaged directly: otherwise they follow up with the code, like everyone else."""

    name: str
    platform: str | None = None
    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class CaseView:
    case: ReportCasePublic
    text: str
    messages: list[CaseMessagePublic]
    # What staff wrote when closing the case: in `get_case` (staff) only, never in the reporter's view.
    close_note: str | None = None
    details: dict = field(default_factory=dict)
    evidence_count: int = 0
    # Staff view only: the reporter's name when they gave it.
    reporter: CaseReporterPublic | None = None


def recipient_roles(*, about_headteacher: bool, safeguarding: bool) -> tuple[str, ...]:
    """Who is told of a report: the headteacher, or the chair of governors when it concerns the headteacher;
    and the designated safeguarding lead as well when a pupil's safety is at stake."""
    first = CHAIR_OF_GOVERNORS if about_headteacher else HEADTEACHER
    return (first, SAFEGUARDING_LEAD) if safeguarding else (first,)


def summary_of(text: str, limit: int = SUMMARY_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


async def create_case(
    *,
    session: AsyncSession,
    text: str,
    about_headteacher: bool = False,
    safeguarding: bool = False,
    kind: str = "other",
    urgent: bool = False,
    details: dict | None = None,
    reporter: NamedReporter | None = None,
    notify_delay_seconds: float = 0,
) -> NewCase:
    """Open a case and notify its recipients (`recipient_roles`). Anonymous unless `reporter` is given.
    The notifications leave after `notify_delay_seconds` (not for urgent cases)."""
    check_length(text, what="report")
    if not text.strip():
        raise ValueError("a report needs some text")
    details = {key: value for key, value in (details or {}).items() if value}
    details_json = json.dumps(details, ensure_ascii=False, sort_keys=True) if details else None
    if details_json is not None:
        check_length(details_json, what="report details")
    if reporter is not None:
        check_length(reporter.name, what="name", limit=200)
    secret = secrets_hashing.new_case_secret()
    secret_hash = await secrets_hashing.hash_secret_off_loop(secret)
    code = await _unused_code(session)
    recipients = recipient_roles(about_headteacher=about_headteacher, safeguarding=safeguarding)
    cipher = cipher_of(session)
    case = ReportCase(
        code=code,
        secret_hash=secret_hash,
        text_encrypted=cipher.encrypt(text, purpose=TEXT_PURPOSE),
        details_encrypted=None if details_json is None else cipher.encrypt(details_json, purpose=DETAILS_PURPOSE),
        about_headteacher=about_headteacher,
        safeguarding=safeguarding,
        kind=kind[:32],
        urgent=urgent,
        routed_to_role=recipients[0],
        opened_on=today(),
    )
    session.add(case)
    await session.flush()
    if reporter is not None:
        session.add(
            CaseReporter(
                case_id=case.id,
                name_encrypted=cipher.encrypt(reporter.name, purpose=REPORTER_PURPOSE),
                platform=reporter.platform if reporter.user_id else None,
                user_id=reporter.user_id,
            )
        )
    payload = {
        "case_code": code,
        "kind": case.kind,
        "urgent": urgent,
        "summary": summary_of(text),
        "about_headteacher": about_headteacher,
        "safeguarding": safeguarding,
        "reporter_name": reporter.name if reporter is not None else None,
    }
    for role in recipients:
        await enqueue_notification(
            session=session, recipient_role=role, kind=CASE_OPENED, payload=payload, case_id=case.id,
            delay_seconds=0 if urgent else notify_delay_seconds,
        )
    actor = ANONYMOUS_REPORTER if reporter is None else Actor(role=NAMED_REPORTER_ROLE, platform=reporter.platform, user_id=reporter.user_id)
    add_audit(
        session, actor=actor, action="case.opened", subject_type="case", subject_id=case.id,
        detail=f"case {code} ({case.kind}{', urgent' if urgent else ''}) sent to {', '.join(recipients)}",
    )
    held = set((await session.exec(select(RoleHolder.role).where(col(RoleHolder.role).in_(recipients)))).all())
    return NewCase(
        case=ReportCasePublic.model_validate(case), code=code, secret=secret, recipients=recipients,
        unheld_roles=tuple(role for role in recipients if role not in held),
    )


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
    for role in recipient_roles(about_headteacher=case.about_headteacher, safeguarding=case.safeguarding):
        await enqueue_notification(
            session=session, recipient_role=role, kind=CASE_MESSAGE,
            payload={"case_code": case.code, "kind": case.kind, "summary": summary_of(text)}, case_id=case.id,
        )
    add_audit(session, actor=ANONYMOUS_REPORTER, action="case.reporter_message", subject_type="case", subject_id=case.id)
    return await _view(session, case)


async def add_evidence(*, session: AsyncSession, case_id: int, content: bytes, mimetype: str) -> bool:
    """Keep a screenshot (already stripped of its metadata) with an open case; False when the case is gone
    or closed. The handler is told there is new evidence."""
    check_length(mimetype, what="file type", limit=32)
    if len(content) > MAX_EVIDENCE_BYTES:
        raise TextTooLong(what="screenshot", length=len(content), limit=MAX_EVIDENCE_BYTES)
    case = await session.get(ReportCase, case_id, with_for_update=True)
    if case is None or case.status == CLOSED:
        return False
    encoded = base64.b64encode(content).decode("ascii")
    session.add(
        CaseEvidence(
            case_id=case.id, mimetype=mimetype, size=len(content), added_on=today(),
            content_encrypted=cipher_of(session).encrypt(encoded, purpose=EVIDENCE_PURPOSE),
        )
    )
    add_audit(session, actor=ANONYMOUS_REPORTER, action="case.evidence_added", subject_type="case", subject_id=case.id)
    return True


async def case_id_for_code(*, session: AsyncSession, code: str) -> int | None:
    """The open case with this code, for attaching evidence; None when there is none."""
    case = await _case_by_code(session, code)
    return None if case is None or case.status == CLOSED else case.id


async def list_evidence(*, session: AsyncSession, case_id: int) -> list[tuple[CaseEvidencePublic, bytes]]:
    cipher = cipher_of(session)
    found = await session.exec(select(CaseEvidence).where(CaseEvidence.case_id == case_id).order_by(CaseEvidence.id))
    return [
        (CaseEvidencePublic.model_validate(item), base64.b64decode(cipher.decrypt(item.content_encrypted, purpose=EVIDENCE_PURPOSE)))
        for item in found.all()
    ]


async def acknowledge_case(*, session: AsyncSession, code: str, actor: Actor) -> ReportCasePublic:
    """Staff have seen the report: the first acknowledgement is recorded (the day only) and the reporter
    will see it; later ones change nothing."""
    case = await _required_case(session, code)
    if case.status == OPEN and case.acknowledged_on is None:
        case.status = ACKNOWLEDGED
        case.acknowledged_on = today()
        session.add(case)
        add_audit(session, actor=actor, action="case.acknowledged", subject_type="case", subject_id=case.id, detail=f"case {case.code}")
        await _tell_reporter(session, case, kind=CASE_UPDATE_FOR_REPORTER)
    return ReportCasePublic.model_validate(case)


async def reporter_contact(*, session: AsyncSession, case_id: int) -> CaseReporterPublic | None:
    found = (await session.exec(select(CaseReporter).where(CaseReporter.case_id == case_id))).first()
    if found is None:
        return None
    name = cipher_of(session).decrypt(found.name_encrypted, purpose=REPORTER_PURPOSE)
    return CaseReporterPublic.model_validate(found, update={"name": name})


async def _tell_reporter(session: AsyncSession, case: ReportCase, *, kind: str) -> None:
    """A named reporter who asked to be messaged directly hears that their case moved (never what was
    written: they read that with their code, as everyone does)."""
    contact = await reporter_contact(session=session, case_id=case.id)
    if contact is None or contact.user_id is None:
        return
    await enqueue_notification(
        session=session, recipient_platform=contact.platform, recipient_user_id=contact.user_id, kind=kind,
        payload={"case_code": case.code, "status": case.status}, case_id=case.id,
    )


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
    case.last_feedback_on = today()
    session.add(case)
    add_audit(session, actor=actor, action="case.staff_reply", subject_type="case", subject_id=case.id, detail=f"case {case.code}")
    await _tell_reporter(session, case, kind=CASE_UPDATE_FOR_REPORTER)
    return message


async def close_case(*, session: AsyncSession, code: str, actor: Actor, note: str = "", outcome: str = "") -> ReportCasePublic:
    """Close the case. The note is for staff only, stored encrypted with the case (see `CaseView.close_note`);
    the outcome is a last message the reporter reads. The audit trail records only that there are any."""
    check_length(note, what="note")
    check_length(outcome, what="outcome")
    case = await _required_case(session, code)
    if case.status != CLOSED:
        if outcome.strip():
            await _add_message(session, case, author="staff", author_role=actor.role, text=outcome)
            case.last_feedback_on = today()
        case.status = CLOSED
        case.closed_on = today()
        if note:
            case.close_note_encrypted = cipher_of(session).encrypt(note, purpose=CLOSE_NOTE_PURPOSE)
        session.add(case)
        add_audit(
            session, actor=actor, action="case.closed", subject_type="case", subject_id=case.id,
            detail=f"case {case.code} closed" + (" with a note" if note else ""),
        )
        await _tell_reporter(session, case, kind=CASE_UPDATE_FOR_REPORTER)
    return ReportCasePublic.model_validate(case)


async def list_open_cases(*, session: AsyncSession, roles: set[str], limit: int = 20) -> list[ReportCasePublic]:
    """Cases not closed that go to one of `roles` (see `recipient_roles`), oldest first. A headteacher never
    sees a case about the headteacher, even through another role they hold."""
    found = await session.exec(
        _open_cases_for(select(ReportCase), roles).order_by(ReportCase.opened_on, ReportCase.id).limit(limit)
    )
    return [ReportCasePublic.model_validate(case) for case in found.all()]


async def count_open_cases(*, session: AsyncSession, roles: set[str]) -> int:
    return (await session.exec(_open_cases_for(select(func.count()).select_from(ReportCase), roles))).one()


def _open_cases_for(statement, roles: set[str]):
    # Who is told depends on two flags only: the four combinations are checked here, with recipient_roles
    # itself, so that the overview and the notifications cannot disagree.
    visible = [
        and_(ReportCase.about_headteacher == about, ReportCase.safeguarding == safeguarding)
        for about in (False, True)
        for safeguarding in (False, True)
        if set(recipient_roles(about_headteacher=about, safeguarding=safeguarding)) & roles
        and not (about and HEADTEACHER in roles)
    ]
    return statement.where(ReportCase.status != CLOSED, or_(false(), *visible))


async def send_case_reminders(*, session: AsyncSession, on: date | None = None) -> int:
    """Remind each case's handlers of its deadlines (whistleblowing timelines): not acknowledged after
    2 days, and again the day before day 7; and one week before 3 months pass without feedback to the
    reporter. Each reminder is sent once; returns how many cases were reminded of something."""
    day = on or today()
    found = await session.exec(select(ReportCase).where(ReportCase.status != CLOSED).with_for_update())
    reminded = 0
    for case in found.all():
        age = (day - case.opened_on).days
        reminder = None
        if case.acknowledged_on is None and age >= ACKNOWLEDGE_LAST_REMINDER_DAYS and case.acknowledge_reminders < 2:
            case.acknowledge_reminders = 2
            reminder = "acknowledge_last"
        elif case.acknowledged_on is None and age >= ACKNOWLEDGE_REMINDER_DAYS and case.acknowledge_reminders < 1:
            case.acknowledge_reminders = 1
            reminder = "acknowledge"
        elif case.last_feedback_on is None and age >= FEEDBACK_REMINDER_DAYS and not case.feedback_reminded:
            case.feedback_reminded = True
            reminder = "feedback"
        if reminder is None:
            continue
        session.add(case)
        for role in recipient_roles(about_headteacher=case.about_headteacher, safeguarding=case.safeguarding):
            await enqueue_notification(
                session=session, recipient_role=role, kind=CASE_REMINDER,
                payload={"case_code": case.code, "kind": case.kind, "reminder": reminder, "age_days": age, "urgent": case.urgent},
                case_id=case.id,
            )
        add_audit(session, actor=SYSTEM, action=f"case.reminder_{reminder}", subject_type="case", subject_id=case.id, detail=f"case {case.code}")
        reminded += 1
    return reminded


async def _verified_case(session: AsyncSession, code: str, secret: str) -> ReportCase | None:
    normal_code = secrets_hashing.normalise_code(code)
    normal_secret = secrets_hashing.normalise_secret(secret)
    case = None if normal_code is None else await _case_by_code(session, normal_code, for_update=True)
    now = utcnow()
    if case is None or normal_secret is None or (case.locked_until is not None and case.locked_until > now):
        # Same work as a real check, so the answer's timing says nothing about why it failed.
        await secrets_hashing.verify_secret_off_loop(normal_secret or "", secrets_hashing.dummy_hash())
        if case is not None and normal_secret is None and not (case.locked_until and case.locked_until > now):
            _count_failure(session, case, now)
        return None
    if await secrets_hashing.verify_secret_off_loop(normal_secret, case.secret_hash):
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
    details = {} if case.details_encrypted is None else json.loads(cipher.decrypt(case.details_encrypted, purpose=DETAILS_PURPOSE))
    evidence = (await session.exec(select(func.count()).select_from(CaseEvidence).where(CaseEvidence.case_id == case.id))).one()
    return CaseView(
        case=ReportCasePublic.model_validate(case),
        text=cipher.decrypt(case.text_encrypted, purpose=TEXT_PURPOSE),
        messages=messages,
        close_note=None if note is None else cipher.decrypt(note, purpose=CLOSE_NOTE_PURPOSE),
        details=details,
        evidence_count=evidence,
        reporter=await reporter_contact(session=session, case_id=case.id) if for_staff else None,
    )
