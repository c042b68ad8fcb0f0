"""The audit trail: read and export. (Events are written by the repository function that makes each change.)"""

from __future__ import annotations

import csv
from datetime import datetime
from typing import TextIO

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AuditEvent, AuditEventPublic
from storage.repository._common import Actor, add_audit, check_length

CSV_COLUMNS = ("id", "occurred_at", "actor_role", "actor_platform", "actor_user_id", "action", "subject_type", "subject_id", "detail")
EXPORT_BATCH = 1_000


async def record_audit_event(
    *, session: AsyncSession, actor: Actor, action: str, subject_type: str, subject_id: object = None, detail: str | None = None
) -> None:
    """For changes made outside this package (e.g. a setting changed by an admin command)."""
    if detail is not None:
        check_length(detail, what="audit detail")
    add_audit(session, actor=actor, action=action, subject_type=subject_type, subject_id=subject_id, detail=detail)


async def list_audit_events(
    *, session: AsyncSession, subject_type: str | None = None, subject_id: object = None, since: datetime | None = None
) -> list[AuditEventPublic]:
    statement = select(AuditEvent).order_by(AuditEvent.id)
    if subject_type is not None:
        statement = statement.where(AuditEvent.subject_type == subject_type)
    if subject_id is not None:
        statement = statement.where(AuditEvent.subject_id == str(subject_id))
    if since is not None:
        statement = statement.where(AuditEvent.occurred_at >= since)
    return [AuditEventPublic.model_validate(event) for event in (await session.exec(statement)).all()]


async def write_audit_csv(*, session: AsyncSession, output: TextIO) -> int:
    """Write every audit event as CSV (header first), oldest first, in batches; returns the number of rows."""
    writer = csv.writer(output)
    writer.writerow(CSV_COLUMNS)
    written, last_id = 0, 0
    while True:
        batch = (
            await session.exec(select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(EXPORT_BATCH))
        ).all()
        for event in batch:
            writer.writerow(_csv_value(getattr(event, column)) for column in CSV_COLUMNS)
        written += len(batch)
        if len(batch) < EXPORT_BATCH:
            return written
        last_id = batch[-1].id


def _csv_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    text = str(value)
    # A cell starting with = + - @ would run as a formula when the file is opened in a spreadsheet.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
