"""Repository functions: every read and write the flows make. All take keyword-only arguments and a
session from `Database.transaction()`; none commits (the transaction does)."""

from storage.repository._common import ANONYMOUS_REPORTER, MAX_TEXT_CHARS, SYSTEM, Actor
from storage.repository.conversations import get_conversation_reference, save_conversation_reference
from storage.repository.events import claim_event
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

__all__ = [
    "ANONYMOUS_REPORTER",
    "MAX_TEXT_CHARS",
    "SYSTEM",
    "Actor",
    "ClaimedNotification",
    "claim_event",
    "claim_notifications",
    "count_pending_notifications",
    "enqueue_notification",
    "get_conversation_reference",
    "get_notification",
    "mark_delivered",
    "mark_failed",
    "record_feedback",
    "save_conversation_reference",
]
