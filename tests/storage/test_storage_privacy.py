"""A raw dump of the database after an anonymous report holds neither the report nor anything that could
identify the reporter; no log, at any level, holds the ids the database stores."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.engine import make_url
from sqlmodel import select

from storage import repository as repo
from storage.database import Database
from storage.repository.cases import summary_of

REPORT = "Mr Oakley from Year 6 keeps sending me messages on WhatsApp after school"
FOLLOW_UP = "He messaged again on Saturday night about the trip"
# What a platform hands the flow along with the report; none of it may reach the database.
REPORTER = {
    "user_id": "U07REPORTER9",
    "name": "Jane Reporterson",
    "dm_channel": "D07REPORTERDM",
    "team_id": "T07SCHOOL42",
    "message_ts": "1764072000.123456",
    "event_id": "Ev07REPORTEVENT",
}
HEAD = repo.Actor(role="headteacher", platform="slack", user_id="U07HEAD")
TEACHER = repo.Actor(role="staff", platform="teams", user_id="29:teacher")


async def _report_anonymously(db) -> repo.NewCase:
    """What the report flow does with a submitted report: dedupe the event, open the case, follow up,
    and deliver the notification to the headteacher."""
    async with db.transaction() as session:
        assert await repo.claim_event(session=session, platform="slack", event_id=REPORTER["event_id"])
        new = await repo.create_case(session=session, text=REPORT)
    async with db.transaction() as session:
        assert await repo.add_reporter_message(session=session, code=new.code, secret=new.secret, text=FOLLOW_UP)
    async with db.transaction() as session:
        claimed = await repo.claim_notifications(session=session, worker_id="worker-1")
    async with db.transaction() as session:
        for notification in claimed:
            assert notification.payload["summary"] in (summary_of(REPORT), summary_of(FOLLOW_UP))
            await repo.mark_delivered(session=session, notification_id=notification.id, worker_id="worker-1")
    return new


def _forbidden(new: repo.NewCase) -> list[str]:
    words = [REPORT, FOLLOW_UP, "Oakley", "WhatsApp", "Saturday night", new.secret, new.secret.replace("-", "")]
    return words + list(REPORTER.values()) + ["1764072000"]


async def _dump(db, settings) -> str:
    if db.dialect == "sqlite":
        path = make_url(settings.database_url).database
        raw = b""
        for suffix in ("", "-wal", "-shm"):
            try:
                with open(path + suffix, "rb") as handle:
                    raw += handle.read()
            except FileNotFoundError:
                pass
        with sqlite3.connect(path) as connection:
            dumped = "\n".join(connection.iterdump())
        return raw.decode("latin-1") + "\n" + raw.decode("utf-8", errors="ignore") + "\n" + dumped
    parts = []
    async with db.engine.connect() as connection:
        columns = (
            await connection.execute(
                text(
                    "SELECT table_name, column_name FROM information_schema.columns "
                    "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"
                )
            )
        ).all()
        assert columns
        for table_name, column_name in columns:
            values = await connection.execute(text(f'SELECT "{column_name}"::text FROM "{table_name}"'))
            parts.extend(value for (value,) in values if value is not None)
    return "\n".join(parts)


async def test_a_database_dump_after_an_anonymous_report_reveals_nothing(db, settings):
    new = await _report_anonymously(db)
    dump = await _dump(db, settings)
    assert new.code in dump  # the dump is real: the public code is there
    leaked = [word for word in _forbidden(new) if word.lower() in dump.lower()]
    assert leaked == []
    # And the data is all there for whoever holds the key.
    async with db.transaction() as session:
        view = await repo.open_case(session=session, code=new.code, secret=new.secret)
    assert view.text == REPORT and [message.text for message in view.messages] == [FOLLOW_UP]


# --- Retention: nothing of a purged case survives in the outbox -----------------------------------------------

CLOSE_NOTE = "Spoke to Mr Oakley privately; the governors were told"
ESCALATION_NOTE = "Passing on because the trip to Dovedale is next week"
REMOVAL_NOTE = "Approved: the photo shows Amelia's face clearly"


async def _payload_texts(db) -> list[str]:
    """Every notification's payload, decrypted."""
    from storage.models import Notification
    from storage.repository.outbox import PAYLOAD_PURPOSE

    async with db.transaction() as session:
        rows = (await session.exec(select(Notification))).all()
    return [db.cipher.decrypt(row.payload_encrypted, purpose=PAYLOAD_PURPOSE) for row in rows]


async def _age_case(db, case_id: int, days: int) -> None:
    from storage.models import ReportCase

    async with db.transaction() as session:
        stored = await session.get(ReportCase, case_id)
        stored.closed_on = stored.closed_on - timedelta(days=days)
        session.add(stored)


async def test_after_purge_no_notification_holds_the_report_text(db, settings):
    async with db.transaction() as session:
        new = await repo.create_case(session=session, text=REPORT, safeguarding=True)
        kept = await repo.create_case(session=session, text="A recent report that stays")
    async with db.transaction() as session:
        await repo.add_reporter_message(session=session, code=new.code, secret=new.secret, text=FOLLOW_UP)
        await repo.escalate_case(session=session, code=new.code, to_role="chair_of_governors", actor=HEAD, note=ESCALATION_NOTE)
    # Some delivered just now (kept 30 days by the delivered-notification rule), the rest still pending.
    async with db.transaction() as session:
        claimed = await repo.claim_notifications(session=session, worker_id="worker-1", limit=2)
    async with db.transaction() as session:
        for notification in claimed:
            await repo.mark_delivered(session=session, notification_id=notification.id, worker_id="worker-1")
        await repo.close_case(session=session, code=new.code, actor=HEAD)
    # The report reaches the headteacher and the safeguarding lead when opened, and the chair when passed on.
    assert sum(REPORT in payload for payload in await _payload_texts(db)) == 3
    await _age_case(db, new.case.id, days=400)

    async with db.transaction() as session:
        report = await repo.purge_expired(session=session, retention_days=365)
    assert report.cases == 1 and report.case_notifications == 5  # opened (x2), the follow-up (x2), passed on
    payloads = await _payload_texts(db)
    leaked = [word for word in (REPORT, FOLLOW_UP, ESCALATION_NOTE, new.code) for payload in payloads if word in payload]
    assert leaked == []
    assert any(kept.code in payload for payload in payloads)  # other cases' notifications are untouched


async def test_deleting_a_case_cascades_to_its_notifications(db):
    from storage.models import Notification, ReportCase

    async with db.transaction() as session:
        new = await repo.create_case(session=session, text=REPORT)
    async with db.transaction() as session:
        await session.exec(delete(ReportCase).where(ReportCase.id == new.case.id))
    async with db.transaction() as session:
        assert (await session.exec(select(Notification).where(Notification.case_id == new.case.id))).all() == []
    assert await _payload_texts(db) == []


async def test_notifications_still_pending_after_the_retention_period_are_given_up(db):
    from storage.models import Notification

    async with db.transaction() as session:
        # As queued before notifications were linked to their case: no case_id, the report in the payload.
        stale = await repo.enqueue_notification(session=session, recipient_role="headteacher", kind="case_opened", payload={"text": REPORT})
        fresh = await repo.enqueue_notification(session=session, recipient_role="headteacher", kind="ask_headteacher", payload={"q": "?"})
        await session.exec(
            update(Notification).where(Notification.id == stale).values(created_at=datetime.now(UTC) - timedelta(days=366))
        )
    async with db.transaction() as session:
        report = await repo.purge_expired(session=session, retention_days=365)
        assert report.expired_notifications == 1
        assert await repo.get_notification(session=session, notification_id=stale) is None
        assert (await repo.get_notification(session=session, notification_id=fresh)).status == "pending"


# --- Staff notes are never stored in plain text -----------------------------------------------------------------


async def test_staff_notes_appear_nowhere_in_plain_text(db, settings):
    async with db.transaction() as session:
        new = await repo.create_case(session=session, text=REPORT)
        await repo.escalate_case(session=session, code=new.code, to_role="safeguarding_lead", actor=HEAD, note=ESCALATION_NOTE)
        await repo.close_case(session=session, code=new.code, actor=HEAD, note=CLOSE_NOTE)
        request = await repo.create_removal_request(session=session, requester=TEACHER, description="The sports day photo")
        await repo.decide_removal_request(session=session, request_id=request.id, actor=HEAD, approve=True, note=REMOVAL_NOTE)
    dump = await _dump(db, settings)
    assert new.code in dump
    for note in (CLOSE_NOTE, ESCALATION_NOTE, REMOVAL_NOTE):
        for fragment in (note, note[:24], note[-20:]):
            assert fragment.lower() not in dump.lower(), fragment
    async with db.transaction() as session:
        # Kept for staff, encrypted; the audit trail says only that there was a note.
        assert (await repo.get_case(session=session, code=new.code)).close_note == CLOSE_NOTE
        assert (await repo.open_case(session=session, code=new.code, secret=new.secret)).close_note is None  # the reporter's view
        assert (await repo.get_removal_request(session=session, request_id=request.id)).decision_note == REMOVAL_NOTE
        details = {event.action: event.detail for event in await repo.list_audit_events(session=session)}
    assert details["case.closed"] == f"case {new.code} closed with a note"
    assert details["case.escalated"] == f"case {new.code} passed to safeguarding_lead with a note"
    assert details["removal_request.approved"] == "with a note"


async def test_the_reporter_does_not_get_a_note_when_there_is_none(db):
    async with db.transaction() as session:
        new = await repo.create_case(session=session, text=REPORT)
        await repo.close_case(session=session, code=new.code, actor=HEAD)
        view = await repo.get_case(session=session, code=new.code)
        events = await repo.list_audit_events(session=session, subject_type="case", subject_id=new.case.id)
    assert view.close_note is None
    assert [event.detail for event in events if event.action == "case.closed"] == [f"case {new.code} closed"]


async def test_purge_clears_old_removal_request_audit_details(db):
    from storage.models import AuditEvent

    async with db.transaction() as session:
        request = await repo.create_removal_request(session=session, requester=TEACHER, description="The sports day photo")
        # What an older version wrote: the decision note itself, in plain text.
        await repo.record_audit_event(
            session=session, actor=HEAD, action="removal_request.approved", subject_type="removal_request",
            subject_id=request.id, detail=REMOVAL_NOTE,
        )
        await repo.record_audit_event(
            session=session, actor=HEAD, action="removal_request.note", subject_type="removal_request",
            subject_id=request.id, detail="recent detail",
        )
        await session.exec(
            update(AuditEvent)
            .where(AuditEvent.detail == REMOVAL_NOTE)
            .values(occurred_at=datetime.now(UTC) - timedelta(days=400))
        )
    async with db.transaction() as session:
        report = await repo.purge_expired(session=session, retention_days=365)
        details = [event.detail for event in await repo.list_audit_events(session=session, subject_type="removal_request")]
    assert report.audit_details_cleared == 1
    assert REMOVAL_NOTE not in details and "recent detail" in details


# --- Logs: no level writes an identifier ------------------------------------------------------------------

# Distinctive ids: what a Teams person, their chat and their school's tenant look like to the bot.
LOGGED_IDS = {
    "user_id": "29:1LogLeakUserQz7",
    "aad_object_id": "a1b2c3d4-loggedaad-0000-9999",
    "conversation_id": "a:1LogLeakConversationQz7",
    "tenant_id": "tenant-LogLeakQz7",
    "name": "Wendy Logleakson",
}
# Every library between the repository and the database, and the root: all at DEBUG.
DATABASE_LOGGERS = ("", "sqlalchemy", "sqlalchemy.engine", "sqlalchemy.engine.Engine", "sqlalchemy.pool", "aiosqlite", "asyncpg")


async def test_no_log_level_writes_the_ids_a_flow_stores_or_reads(settings, caplog):
    for name in DATABASE_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    ids = LOGGED_IDS
    reference = {
        "user": {"id": ids["user_id"], "name": ids["name"], "aadObjectId": ids["aad_object_id"]},
        "conversation": {"id": ids["conversation_id"], "tenantId": ids["tenant_id"]},
    }
    db = await Database.open(settings=settings)
    try:
        async with db.transaction() as session:
            await repo.save_conversation_reference(
                session=session, platform="teams", user_id=ids["user_id"], conversation_id=ids["conversation_id"], reference=reference
            )
            await repo.assign_role(session=session, role="headteacher", platform="teams", user_id=ids["user_id"], display_name=ids["name"])
        async with db.transaction() as session:
            assert await repo.get_conversation_reference(session=session, platform="teams", user_id=ids["user_id"]) == reference
            [holder] = await repo.list_role_holders(session=session)
            assert holder.user_id == ids["user_id"]
        with pytest.raises(RuntimeError):
            async with db.transaction() as session:
                await repo.roles_of(session=session, platform="teams", user_id=ids["user_id"])
                raise RuntimeError("a flow failing mid-transaction rolls back")
    finally:
        await db.close()
    assert any(record.name.startswith(("sqlalchemy", "aiosqlite")) for record in caplog.records), "the loggers were on"
    logged = "\n".join(f"{record.getMessage()} {record.args!r} {record.exc_text or ''}" for record in caplog.records)
    leaked = [value for value in ids.values() if value.lower() in logged.lower()]
    assert leaked == []
