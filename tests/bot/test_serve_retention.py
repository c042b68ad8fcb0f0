"""A running server keeps its own retention schedule: the reminders loop purges expired data at start and
then daily, without anyone running `policybot purge`."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, update
from sqlmodel import select

from bot.config import Settings
from bot.server import Reminders
from storage import repository as repo
from storage.database import Database
from storage.models import ProcessedEvent
from storage.repository._common import utcnow


class _Core:
    """What the reminders loop uses of ConversationCore: its database and the reminders it sends."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.reminder_rounds = 0

    async def send_reminders(self) -> int:
        self.reminder_rounds += 1
        return 0


async def _event_digests(database: Database) -> int:
    async with database.transaction() as session:
        return (await session.exec(select(func.count()).select_from(ProcessedEvent))).one()


async def test_serving_purges_event_digests_older_than_a_week(tmp_path: Path):
    settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path}/policybot.db", encryption_key_file=tmp_path / "key")
    database = await Database.open(settings=settings)
    try:
        async with database.transaction() as session:
            await repo.claim_event(session=session, platform="slack", event_id="EvLastMonth")
            await session.exec(update(ProcessedEvent).values(processed_at=utcnow() - timedelta(days=30)))
            await repo.claim_event(session=session, platform="slack", event_id="EvToday")
        core = _Core(database)
        reminders = Reminders(core=core, retention_days=settings.retention_days, interval_seconds=0.01)
        reminders.start()
        try:
            for _ in range(200):
                if await _event_digests(database) == 1:
                    break
                await asyncio.sleep(0.01)
        finally:
            await reminders.stop()
        assert await _event_digests(database) == 1
        assert core.reminder_rounds >= 1
    finally:
        await database.close()
