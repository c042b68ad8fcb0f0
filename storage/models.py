"""The tables, one model family each (`*Base`, the `table=True` model, `*Public`).

Privacy rules the schema itself enforces:
- `ReportCase` and `CaseMessage` have no column that could hold a platform user id, a name, a DM channel,
  a team id or a message timestamp: only the day a case was opened or a message sent.
- Report texts, follow-up messages, escalated questions and their draft posts, staff notes, removal
  descriptions and reasons, and notification payloads are stored encrypted (`*_encrypted` columns, see
  `storage.crypto`). Audit details never hold free text that staff or reporters typed: they say that a
  note exists, not what it says.
- Processed events are stored as keyed digests, not as the platform's event ids; so is who gave feedback
  on which answer.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, Text, UniqueConstraint, false, text
from sqlmodel import Field, SQLModel

metadata = SQLModel.metadata

# Column sizes shared by several tables.
PLATFORM_LEN = 32
USER_ID_LEN = 255
ROLE_LEN = 40
STATUS_LEN = 16
NAME_LEN = 200


def name_field():
    """A person's display name as the platform gave it, "" when unknown (existing rows get "" too)."""
    # As SQL text: Alembic's SQLite comparison takes a plain "" for no default at all.
    return Field(default="", max_length=NAME_LEN, sa_column_kwargs={"server_default": text("''")})


class StorageMeta(SQLModel, table=True):
    """Facts about the database itself, such as the encryption key's check value."""

    __tablename__ = "storage_meta"
    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(sa_type=Text)


# --- Idempotency -----------------------------------------------------------------------------------


class ProcessedEventBase(SQLModel):
    platform: str = Field(max_length=PLATFORM_LEN)
    processed_at: datetime


class ProcessedEvent(ProcessedEventBase, table=True):
    __tablename__ = "processed_event"
    __table_args__ = (UniqueConstraint("platform", "event_digest", name="uq_processed_event_platform_event"),)
    id: int | None = Field(default=None, primary_key=True)
    # HMAC of the platform's event id (see storage.crypto.Cipher.digest).
    event_digest: str = Field(max_length=64)


class ProcessedEventPublic(ProcessedEventBase):
    id: int


# --- Teams conversation references --------------------------------------------------------------------


class ConversationReferenceBase(SQLModel):
    platform: str = Field(max_length=PLATFORM_LEN)
    user_id: str = Field(max_length=USER_ID_LEN)
    conversation_id: str = Field(max_length=USER_ID_LEN)
    updated_at: datetime


class ConversationReference(ConversationReferenceBase, table=True):
    __tablename__ = "conversation_reference"
    __table_args__ = (UniqueConstraint("platform", "user_id", name="uq_conversation_reference_platform_user"),)
    id: int | None = Field(default=None, primary_key=True)
    reference_json: str = Field(sa_type=Text)


class ConversationReferencePublic(ConversationReferenceBase):
    id: int
    reference: dict


# --- Feedback -------------------------------------------------------------------------------------------


class FeedbackBase(SQLModel):
    situation: str = Field(max_length=100)
    verdict: str = Field(max_length=32)
    helpful: bool
    # The day only: an exact time could be matched with the asker's message.
    given_on: date


class Feedback(FeedbackBase, table=True):
    __tablename__ = "feedback"
    id: int | None = Field(default=None, primary_key=True)
    # HMAC of the answer's message and the person who clicked (see storage.crypto.Cipher.digest): one
    # feedback per answer per person, though the row says neither which message nor who. None on rows
    # stored before it was kept.
    giver_digest: str | None = Field(default=None, max_length=64, unique=True, index=True)


class FeedbackPublic(FeedbackBase):
    id: int


# --- Outbox ---------------------------------------------------------------------------------------------


class NotificationBase(SQLModel):
    # Either a role (resolved to its holders at delivery) or one person on one platform.
    recipient_role: str | None = Field(default=None, max_length=ROLE_LEN)
    recipient_platform: str | None = Field(default=None, max_length=PLATFORM_LEN)
    recipient_user_id: str | None = Field(default=None, max_length=USER_ID_LEN)
    kind: str = Field(max_length=64)
    status: str = Field(default="pending", max_length=STATUS_LEN)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime
    delivered_at: datetime | None = None


class Notification(NotificationBase, table=True):
    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_status_next_attempt", "status", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    # The anonymous case the payload is about (it may carry the report's text): deleted with the case.
    case_id: int | None = Field(default=None, foreign_key="report_case.id", ondelete="CASCADE", index=True)
    payload_encrypted: str = Field(sa_type=Text)
    next_attempt_at: datetime
    claimed_by: str | None = Field(default=None, max_length=100)
    lease_expires_at: datetime | None = None


class NotificationPublic(NotificationBase):
    id: int
    payload: dict


# --- Anonymous reports ----------------------------------------------------------------------------------


class ReportCaseBase(SQLModel):
    code: str = Field(max_length=9, unique=True, index=True)
    status: str = Field(default="open", max_length=STATUS_LEN)
    about_headteacher: bool = False
    routed_to_role: str = Field(max_length=ROLE_LEN)
    opened_on: date
    closed_on: date | None = None
    # What the report is about (harassment, a pupil's safety, a compromised account…): it decides who is told.
    kind: str = Field(default="other", max_length=32, sa_column_kwargs={"server_default": "other"})
    # A pupil's safety: the designated safeguarding lead is told too, and may act on the case.
    safeguarding: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    # A compromised account or leaked data: the school must act straight away.
    urgent: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    # Days only, like every date of a case: when it was acknowledged and when the reporter last had feedback.
    acknowledged_on: date | None = None
    last_feedback_on: date | None = None
    # Reminders sent to the handler: for acknowledging (after 2 days, then before day 7) and for feedback.
    acknowledge_reminders: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    feedback_reminded: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class ReportCase(ReportCaseBase, table=True):
    __tablename__ = "report_case"
    id: int | None = Field(default=None, primary_key=True)
    secret_hash: str = Field(max_length=200)
    text_encrypted: str = Field(sa_type=Text)
    # What staff wrote when closing the case, for staff only (the reporter does not see it).
    close_note_encrypted: str | None = Field(default=None, sa_type=Text)
    # Where, who, when and a link, as the reporter gave them (JSON, encrypted).
    details_encrypted: str | None = Field(default=None, sa_type=Text)
    failed_attempts: int = 0
    locked_until: datetime | None = None


class ReportCasePublic(ReportCaseBase):
    id: int


class CaseMessageBase(SQLModel):
    # "reporter" or "staff"; for staff, the role they answered in (never who they are: see the audit trail).
    author: str = Field(max_length=STATUS_LEN)
    author_role: str | None = Field(default=None, max_length=ROLE_LEN)
    sent_on: date


class CaseMessage(CaseMessageBase, table=True):
    __tablename__ = "case_message"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="report_case.id", ondelete="CASCADE", index=True)
    text_encrypted: str = Field(sa_type=Text)


class CaseMessagePublic(CaseMessageBase):
    id: int
    text: str


class CaseEvidenceBase(SQLModel):
    mimetype: str = Field(max_length=32)
    size: int
    added_on: date


class CaseEvidence(CaseEvidenceBase, table=True):
    """A screenshot, re-encoded without its metadata and encrypted. Nothing of the platform's (file id,
    address, uploader) is kept."""

    __tablename__ = "case_evidence"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="report_case.id", ondelete="CASCADE", index=True)
    content_encrypted: str = Field(sa_type=Text)


class CaseEvidencePublic(CaseEvidenceBase):
    id: int


class CaseReporterBase(SQLModel):
    # Set only when the reporter asked to be messaged directly; otherwise they are reached through the code.
    platform: str | None = Field(default=None, max_length=PLATFORM_LEN)
    user_id: str | None = Field(default=None, max_length=USER_ID_LEN)


class CaseReporter(CaseReporterBase, table=True):
    """Who made a report, for the reports made with the reporter's name only: anonymous cases have no row."""

    __tablename__ = "case_reporter"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="report_case.id", ondelete="CASCADE", unique=True)
    name_encrypted: str = Field(sa_type=Text)


class CaseReporterPublic(CaseReporterBase):
    name: str


# --- Escalations ("Ask the headteacher", a case passed to another role) ----------------------------------


class EscalationBase(SQLModel):
    kind: str = Field(max_length=STATUS_LEN)
    requester_platform: str | None = Field(default=None, max_length=PLATFORM_LEN)
    requester_user_id: str | None = Field(default=None, max_length=USER_ID_LEN)
    recipient_role: str = Field(max_length=ROLE_LEN)
    situation: str | None = Field(default=None, max_length=100)
    verdict: str | None = Field(default=None, max_length=32)
    status: str = Field(default="open", max_length=STATUS_LEN)
    created_at: datetime
    resolved_at: datetime | None = None
    resolved_by_role: str | None = Field(default=None, max_length=ROLE_LEN)
    # What a question is about: a post, a friend request, an incident or something else.
    topic: str = Field(default="post", max_length=STATUS_LEN, sa_column_kwargs={"server_default": "post"})
    # Staff asking a question are not anonymous: the headteacher sees who asks, and answers them.
    requester_name: str = name_field()
    # The headteacher's answer to a question: fine, don't post, or come and talk.
    decision: str | None = Field(default=None, max_length=STATUS_LEN)
    resolved_by_platform: str | None = Field(default=None, max_length=PLATFORM_LEN)
    resolved_by_user_id: str | None = Field(default=None, max_length=USER_ID_LEN)
    resolved_by_name: str = name_field()
    # When the recipient is reminded of a question still unanswered (once: `reminded`).
    remind_at: datetime | None = None
    reminded: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class Escalation(EscalationBase, table=True):
    __tablename__ = "escalation"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, foreign_key="report_case.id", ondelete="CASCADE", index=True)
    question_encrypted: str = Field(sa_type=Text)
    response_encrypted: str | None = Field(default=None, sa_type=Text)
    # The post the asker means to publish, when they gave it.
    draft_encrypted: str | None = Field(default=None, sa_type=Text)
    # The policy clauses the advisor quoted, as JSON [[section, quote], ...]: the school's public policy, so
    # not encrypted.
    clauses: str | None = Field(default=None, sa_type=Text)


class EscalationPublic(EscalationBase):
    id: int
    case_id: int | None
    question: str
    response: str | None
    draft: str
    clause_pairs: list[tuple[str, str]]


# --- Removal requests -----------------------------------------------------------------------------------


class RemovalRequestBase(SQLModel):
    requester_platform: str = Field(max_length=PLATFORM_LEN)
    requester_user_id: str = Field(max_length=USER_ID_LEN)
    status: str = Field(default="pending", max_length=STATUS_LEN)
    created_at: datetime
    decided_at: datetime | None = None
    decided_by_role: str | None = Field(default=None, max_length=ROLE_LEN)
    decided_by_platform: str | None = Field(default=None, max_length=PLATFORM_LEN)
    decided_by_user_id: str | None = Field(default=None, max_length=USER_ID_LEN)
    # "request" (staff asked for it) or "notice" (a decider told someone to take it down, no request first).
    origin: str = Field(default="request", max_length=STATUS_LEN, sa_column_kwargs={"server_default": "request"})
    # Where it was posted (the school's account, a colleague's, a parent's, elsewhere): decides who removes it.
    location: str = Field(default="elsewhere", max_length=32, sa_column_kwargs={"server_default": "elsewhere"})
    requester_name: str = name_field()
    # The policy clause it breaches (the school's public policy, not encrypted).
    clause_section: str | None = Field(default=None, max_length=200)
    clause_text: str | None = Field(default=None, sa_type=Text)
    # The member of staff who posted it, when named; they remove it themselves when they can be messaged.
    poster_platform: str | None = Field(default=None, max_length=PLATFORM_LEN)
    poster_user_id: str | None = Field(default=None, max_length=USER_ID_LEN)
    poster_name: str = name_field()
    # Set on approval when no person can be asked: the role that must take it down (or have it taken down).
    actor_role: str | None = Field(default=None, max_length=ROLE_LEN)
    decided_by_name: str = name_field()
    # The deadline set on approval, and who confirmed it was taken down, when.
    due_at: datetime | None = None
    removed_at: datetime | None = None
    removed_by_role: str | None = Field(default=None, max_length=ROLE_LEN)
    removed_by_platform: str | None = Field(default=None, max_length=PLATFORM_LEN)
    removed_by_user_id: str | None = Field(default=None, max_length=USER_ID_LEN)
    removed_by_name: str = name_field()
    overdue_reminded: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class RemovalRequest(RemovalRequestBase, table=True):
    __tablename__ = "removal_request"
    id: int | None = Field(default=None, primary_key=True)
    description_encrypted: str = Field(sa_type=Text)
    decision_note_encrypted: str | None = Field(default=None, sa_type=Text)
    # Why it must come down, in the requester's or decider's words.
    reason_encrypted: str | None = Field(default=None, sa_type=Text)


class RemovalRequestPublic(RemovalRequestBase):
    id: int
    description: str
    decision_note: str | None
    reason: str


# --- Role holders ---------------------------------------------------------------------------------------


class RoleHolderBase(SQLModel):
    role: str = Field(max_length=ROLE_LEN, index=True)
    platform: str = Field(max_length=PLATFORM_LEN)
    user_id: str = Field(max_length=USER_ID_LEN)
    display_name: str = Field(default="", max_length=200)
    assigned_at: datetime


class RoleHolder(RoleHolderBase, table=True):
    __tablename__ = "role_holder"
    __table_args__ = (UniqueConstraint("role", "platform", "user_id", name="uq_role_holder_role_platform_user"),)
    id: int | None = Field(default=None, primary_key=True)


class RoleHolderPublic(RoleHolderBase):
    id: int


# --- Audit trail ----------------------------------------------------------------------------------------


class AuditEventBase(SQLModel):
    occurred_at: datetime = Field(index=True)
    # Staff actions name the role and the platform user; the reporter of an anonymous case is recorded as
    # the role "anonymous_reporter" with no user, and the time of their actions is kept to the day.
    actor_role: str = Field(max_length=ROLE_LEN)
    actor_platform: str | None = Field(default=None, max_length=PLATFORM_LEN)
    actor_user_id: str | None = Field(default=None, max_length=USER_ID_LEN)
    action: str = Field(max_length=64)
    subject_type: str = Field(max_length=32)
    subject_id: str | None = Field(default=None, max_length=64)
    # Cleared by `policybot purge` with the case it describes.
    detail: str | None = Field(default=None, sa_type=Text)


class AuditEvent(AuditEventBase, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_subject", "subject_type", "subject_id"),)
    id: int | None = Field(default=None, primary_key=True)


class AuditEventPublic(AuditEventBase):
    id: int
