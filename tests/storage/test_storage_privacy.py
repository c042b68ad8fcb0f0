"""A raw dump of the database after an anonymous report holds neither the report nor anything that could
identify the reporter."""

from __future__ import annotations

import sqlite3

from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage import repository as repo

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
            assert notification.payload["text"] in (REPORT, FOLLOW_UP)
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
