"""Every storage test runs on SQLite and on PostgreSQL.

PostgreSQL runs use the server named by POLICYBOT_TEST_POSTGRES_URL (`.ci/run` starts a throwaway one and
sets it); each test gets a database of its own. Without the variable they are skipped locally and fail in CI."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.config import Settings
from storage.database import Database
from postgres_server import postgres_server_url

async def _admin(server_url: str, sql: str) -> None:
    import asyncpg

    url = make_url(server_url)
    connection = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, password=url.password, database=url.database or "postgres"
    )
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request, tmp_path: Path):
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'data' / 'policybot.db'}"
        return
    server_url = postgres_server_url()
    name = f"policybot_test_{uuid.uuid4().hex[:16]}"
    await _admin(server_url, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        await _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(_env_file=None, database_url=database_url, encryption_key_file=tmp_path / "data" / "encryption.key")


@pytest.fixture
async def db(settings: Settings):
    database = await Database.open(settings=settings)
    try:
        yield database
    finally:
        await database.close()
