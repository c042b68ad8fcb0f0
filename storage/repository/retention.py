"""Retention: closed cases older than the configured number of days are deleted with their messages,
escalations, notifications and the detail text of their audit events; removal requests' audit details are
cleared after the same time; notifications still pending after it are given up; delivered notifications
and processed-event digests are kept only as long as they are useful; the Teams conversation references
(user, conversation and tenant ids) of people who have not written for a year are deleted, except those of
people holding a role, whom the bot must still be able to message."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta

from sqlalchemy import delete, exists, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    AuditEvent,
    CaseMessage,
    ConversationReference,
    Escalation,
    Notification,
    ProcessedEvent,
    ReportCase,
    RoleHolder,
)
from storage.repository._common import SYSTEM, add_audit, today, utcnow
from storage.repository.outbox import DELIVERED, PENDING

# Platforms re-deliver an event within minutes; a week is ample to catch duplicates.
PROCESSED_EVENT_DAYS = 7
# Delivered notifications may carry a report's text (encrypted); keep them no longer than this.
DELIVERED_NOTIFICATION_DAYS = 30
# A reference is stored again whenever its person writes (see bot/teams/agent.py): a year without, and they
# have most likely left the school.
REFERENCE_IDLE_DAYS = 365


@dataclass(frozen=True, slots=True)
class PurgeReport:
    cases: int = 0
    case_messages: int = 0
    escalations: int = 0
    case_notifications: int = 0
    audit_details_cleared: int = 0
    notifications: int = 0
    expired_notifications: int = 0
    processed_events: int = 0
    conversation_references: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


async def purge_expired(*, session: AsyncSession, retention_days: int) -> PurgeReport:
    if retention_days < 1:
        raise ValueError("retention_days must be at least 1")
    cutoff_day = today() - timedelta(days=retention_days)
    now = utcnow()
    case_ids = list(
        (await session.exec(select(ReportCase.id).where(ReportCase.status == "closed", col(ReportCase.closed_on) < cutoff_day))).all()
    )
    messages = escalations = details = cases = case_notifications = 0
    if case_ids:
        subject_ids = [str(case_id) for case_id in case_ids]
        messages = await _rowcount(session, delete(CaseMessage).where(col(CaseMessage.case_id).in_(case_ids)))
        # Their payloads hold the report's text. (ON DELETE CASCADE would remove them too; counted here.)
        case_notifications = await _rowcount(session, delete(Notification).where(col(Notification.case_id).in_(case_ids)))
        escalation_ids = list((await session.exec(select(Escalation.id).where(col(Escalation.case_id).in_(case_ids)))).all())
        escalations = await _rowcount(session, delete(Escalation).where(col(Escalation.case_id).in_(case_ids)))
        details = await _rowcount(
            session,
            update(AuditEvent)
            .where(
                col(AuditEvent.detail).is_not(None),
                ((AuditEvent.subject_type == "case") & col(AuditEvent.subject_id).in_(subject_ids))
                | ((AuditEvent.subject_type == "escalation") & col(AuditEvent.subject_id).in_([str(i) for i in escalation_ids])),
            )
            .values(detail=None),
        )
        cases = await _rowcount(session, delete(ReportCase).where(col(ReportCase.id).in_(case_ids)))
    # Older versions wrote staff notes into removal decisions' audit details: cleared after the retention period.
    details += await _rowcount(
        session,
        update(AuditEvent)
        .where(
            col(AuditEvent.detail).is_not(None),
            AuditEvent.subject_type == "removal_request",
            AuditEvent.occurred_at < now - timedelta(days=retention_days),
        )
        .values(detail=None),
    )
    # Undeliverable for the whole retention period (no role holder, a platform gone): given up. These include
    # notifications queued before they were linked to their case, which may carry a report's text.
    expired = await _rowcount(
        session,
        delete(Notification).where(Notification.status == PENDING, Notification.created_at < now - timedelta(days=retention_days)),
    )
    notification_cutoff = now - timedelta(days=min(DELIVERED_NOTIFICATION_DAYS, retention_days))
    notifications = await _rowcount(
        session, delete(Notification).where(Notification.status == DELIVERED, col(Notification.delivered_at) < notification_cutoff)
    )
    processed = await _rowcount(
        session, delete(ProcessedEvent).where(ProcessedEvent.processed_at < now - timedelta(days=PROCESSED_EVENT_DAYS))
    )
    holds_a_role = exists().where(RoleHolder.platform == ConversationReference.platform, RoleHolder.user_id == ConversationReference.user_id)
    references = await _rowcount(
        session,
        delete(ConversationReference).where(
            ConversationReference.updated_at < now - timedelta(days=REFERENCE_IDLE_DAYS), ~holds_a_role
        ),
    )
    report = PurgeReport(
        cases=cases, case_messages=messages, escalations=escalations, case_notifications=case_notifications,
        audit_details_cleared=details, notifications=notifications, expired_notifications=expired, processed_events=processed,
        conversation_references=references,
    )
    if any(report.as_dict().values()):
        summary = ", ".join(f"{count} {name.replace('_', ' ')}" for name, count in report.as_dict().items() if count)
        add_audit(session, actor=SYSTEM, action="retention.purged", subject_type="database", detail=f"older than {retention_days} days: {summary}")
    return report


async def _rowcount(session: AsyncSession, statement) -> int:
    return (await session.exec(statement.execution_options(synchronize_session=False))).rowcount
