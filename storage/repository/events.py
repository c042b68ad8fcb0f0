"""Idempotency: each platform event is handled once, however often it is delivered."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ProcessedEvent
from storage.repository._common import cipher_of, insert_for, start_of_today, utcnow


async def claim_event(*, session: AsyncSession, platform: str, event_id: str, day_only: bool = False) -> bool:
    """Record the event as processed; False if it already was (or is being, in a concurrent transaction).

    Call it first in the transaction that performs the event's side effects: a duplicate then stops before
    any of them, and if the transaction fails the claim is rolled back with them. `day_only` keeps the day,
    not the time, for events of someone making or following up a report."""
    digest = cipher_of(session).digest(f"{platform}\x00{event_id}")
    statement = (
        insert_for(session, ProcessedEvent)
        .values(platform=platform, event_digest=digest, processed_at=start_of_today() if day_only else utcnow())
        .on_conflict_do_nothing(index_elements=["platform", "event_digest"])
        .returning(ProcessedEvent.id)
    )
    result = await session.exec(statement)
    return result.scalar_one_or_none() is not None


async def claim_events(*, session: AsyncSession, events: list[tuple[str, str]]) -> list[bool]:
    """`claim_event` for many (platform, event id) pairs in one statement: for each pair, True when this
    call recorded it first. A pair repeated in the list is claimed by its first occurrence only."""
    if not events:
        return []
    cipher = cipher_of(session)
    keys = [(platform, cipher.digest(f"{platform}\x00{event_id}")) for platform, event_id in events]
    unique = list(dict.fromkeys(keys))
    now = utcnow()
    # One statement shape for any number of rows, so SQLAlchemy compiles it once and reuses it.
    table = ProcessedEvent.__table__  # the Core table: the ORM's bulk-insert machinery costs more than the insert
    statement = (
        insert_for(session, table)
        .on_conflict_do_nothing(index_elements=["platform", "event_digest"])
        .returning(table.c.platform, table.c.event_digest)
    )
    rows = [{"platform": platform, "event_digest": digest, "processed_at": now} for platform, digest in unique]
    claimed = {(row[0], row[1]) for row in (await session.exec(statement, params=rows)).all()}
    results = []
    for key in keys:
        results.append(key in claimed)
        claimed.discard(key)  # a repeat later in the same list is a duplicate
    return results
