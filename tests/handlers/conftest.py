"""Flows run against a real SQLite database in the test's folder and a scripted advisor, so every
verdict and confidence branch can be chosen on purpose (the real advisor has its own tests)."""

from __future__ import annotations

import pytest
from handler_helpers import ScriptedAdvisor

from bot.config import Settings
from handlers.core import ConversationCore
from storage.database import Database


@pytest.fixture
def advisor() -> ScriptedAdvisor:
    return ScriptedAdvisor()


@pytest.fixture
async def database(tmp_path):
    database = await Database.open(settings=Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path}/t.db"))
    yield database
    await database.close()


@pytest.fixture
async def core(advisor, database):
    return ConversationCore(advisor=advisor, database=database, headteacher_name="Mrs Patel")
