"""Teams conversation references, kept so the bot can message a person proactively."""

from __future__ import annotations

import json

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import USER_ID_LEN, ConversationReference
from storage.repository._common import check_length, insert_for, utcnow

MAX_REFERENCE_CHARS = 20_000


async def save_conversation_reference(
    *, session: AsyncSession, platform: str, user_id: str, conversation_id: str, reference: dict
) -> None:
    """Insert or replace the person's reference (the latest conversation wins)."""
    check_length(user_id, what="user id", limit=USER_ID_LEN)
    check_length(conversation_id, what="conversation id", limit=USER_ID_LEN)
    reference_json = json.dumps(reference, separators=(",", ":"), sort_keys=True)
    check_length(reference_json, what="conversation reference", limit=MAX_REFERENCE_CHARS)
    now = utcnow()
    statement = insert_for(session, ConversationReference).values(
        platform=platform, user_id=user_id, conversation_id=conversation_id, reference_json=reference_json, updated_at=now
    )
    statement = statement.on_conflict_do_update(
        index_elements=["platform", "user_id"],
        set_={"conversation_id": conversation_id, "reference_json": reference_json, "updated_at": now},
    )
    await session.exec(statement)


async def get_conversation_reference(*, session: AsyncSession, platform: str, user_id: str) -> dict | None:
    found = await session.exec(
        select(ConversationReference.reference_json).where(
            ConversationReference.platform == platform, ConversationReference.user_id == user_id
        )
    )
    reference_json = found.first()
    return None if reference_json is None else json.loads(reference_json)


async def list_known_people(*, session: AsyncSession, platform: str, limit: int = 100) -> list[tuple[str, str]]:
    """(user id, display name) of the people with a stored conversation on `platform` whose reference
    carries their name (Teams keeps it in `user.name`), by name: the choices of a "who posted it" field."""
    found = await session.exec(
        select(ConversationReference.user_id, ConversationReference.reference_json).where(ConversationReference.platform == platform)
    )
    people = []
    for user_id, reference_json in found.all():
        user = json.loads(reference_json).get("user")
        name = user.get("name") if isinstance(user, dict) else None
        if isinstance(name, str) and name.strip():
            people.append((user_id, name.strip()))
    return sorted(people, key=lambda person: person[1].lower())[:limit]
