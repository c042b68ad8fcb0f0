"""Repository functions: every read and write the flows make. All take keyword-only arguments and a
session from `Database.transaction()`; none commits (the transaction does)."""

from storage.repository._common import ANONYMOUS_REPORTER, MAX_TEXT_CHARS, SYSTEM, Actor
from storage.repository.audit import list_audit_events, record_audit_event, write_audit_csv
from storage.repository.cases import CaseView, NewCase, add_reporter_message, add_staff_reply, close_case, create_case, get_case, open_case
from storage.repository.conversations import get_conversation_reference, save_conversation_reference
from storage.repository.escalations import answer_escalation, create_escalation, escalate_case, get_escalation
from storage.repository.events import claim_event, claim_events
from storage.repository.feedback import record_feedback
from storage.repository.outbox import (
    ClaimedNotification,
    claim_notifications,
    count_pending_notifications,
    enqueue_notification,
    get_notification,
    mark_delivered,
    mark_failed,
)
from storage.repository.removals import create_removal_request, decide_removal_request, get_removal_request
from storage.repository.retention import PurgeReport, purge_expired
from storage.repository.roles import (
    CHAIR_OF_GOVERNORS,
    HEADTEACHER,
    ROLES,
    SAFEGUARDING_LEAD,
    assign_role,
    list_role_holders,
    roles_of,
    unassign_role,
)

__all__ = [
    "ANONYMOUS_REPORTER",
    "Actor",
    "CHAIR_OF_GOVERNORS",
    "CaseView",
    "ClaimedNotification",
    "HEADTEACHER",
    "MAX_TEXT_CHARS",
    "NewCase",
    "PurgeReport",
    "ROLES",
    "SAFEGUARDING_LEAD",
    "SYSTEM",
    "add_reporter_message",
    "add_staff_reply",
    "answer_escalation",
    "assign_role",
    "claim_event",
    "claim_events",
    "claim_notifications",
    "close_case",
    "count_pending_notifications",
    "create_case",
    "create_escalation",
    "create_removal_request",
    "decide_removal_request",
    "enqueue_notification",
    "escalate_case",
    "get_case",
    "get_conversation_reference",
    "get_escalation",
    "get_notification",
    "get_removal_request",
    "list_audit_events",
    "list_role_holders",
    "mark_delivered",
    "mark_failed",
    "open_case",
    "purge_expired",
    "record_audit_event",
    "record_feedback",
    "roles_of",
    "save_conversation_reference",
    "unassign_role",
    "write_audit_csv",
]
