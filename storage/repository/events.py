"""Idempotency: each platform event is handled once, however often it is delivered."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ProcessedEvent
from storage.repository._common import cipher_of, insert_for, utcnow


async def claim_event(*, session: AsyncSession, platform: str, event_id: str) -> bool:
    """Record the event as processed; False if it already was (or is being, in a concurrent transaction).

    Call it first in the transaction that performs the event's side effects: a duplicate then stops before
    any of them, and if the transaction fails the claim is rolled back with them."""
    digest = cipher_of(session).digest(f"{platform}\x00{event_id}")
    statement = (
        insert_for(session, ProcessedEvent)
        .values(platform=platform, event_digest=digest, processed_at=utcnow())
        .on_conflict_do_nothing(index_elements=["platform", "event_digest"])
        .returning(ProcessedEvent.id)
    )
    result = await session.exec(statement)
    return result.scalar_one_or_none() is not None
