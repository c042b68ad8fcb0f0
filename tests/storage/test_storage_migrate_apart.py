"""Migrations in a process of their own: `policybot serve` brings the schema to head with
`python -m storage.migrate` and then opens the database without importing Alembic, on both databases."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from sqlalchemy import text

from storage.database import Database, create_engine, schema_revision, upgrade_in_child_process
from storage.errors import DatabaseOpenError
from storage.migrations import HEAD_REVISION

# Opens the database as the server does and says whether Alembic was loaded to do it.
OPEN_AND_TELL = """
import asyncio, json, sys
from bot.config import Settings
from storage.database import Database

async def main():
    url, key_file = sys.stdin.read().split("\\n")[:2]
    database = await Database.open(settings=Settings(_env_file=None, database_url=url, encryption_key_file=key_file))
    await database.close()
    print(json.dumps({"alembic_loaded": "alembic" in sys.modules}))

asyncio.run(main())
"""


def test_the_head_named_in_code_is_alembics_head():
    from alembic.script import ScriptDirectory

    from storage.database import alembic_config

    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD_REVISION


async def _revision(database_url: str) -> str | None:
    engine = create_engine(database_url)
    try:
        return await schema_revision(engine)
    finally:
        await engine.dispose()


def _open_in_a_fresh_process(settings) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", OPEN_AND_TELL], input=f"{settings.database_url}\n{settings.encryption_key_file}\n",
        capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


async def test_a_new_database_is_migrated_apart_and_then_opened_without_alembic(settings):
    assert await _revision(settings.database_url) is None
    await upgrade_in_child_process(database_url=settings.database_url)
    assert await _revision(settings.database_url) == HEAD_REVISION
    assert not settings.encryption_key_file.exists()  # the key is left to the process that opens it
    assert _open_in_a_fresh_process(settings) == {"alembic_loaded": False}
    database = await Database.open(settings=settings)
    await database.close()
    assert settings.encryption_key_file.exists()


async def test_a_database_at_head_starts_no_migration_process(settings, monkeypatch):
    database = await Database.open(settings=settings)
    await database.close()

    async def no_process(*_arguments, **_options):
        raise AssertionError("a migration process was started for a database already at head")

    monkeypatch.setattr("asyncio.create_subprocess_exec", no_process)
    await upgrade_in_child_process(database_url=settings.database_url)


async def test_a_failed_migration_is_one_line_and_changes_nothing(settings):
    database = await Database.open(settings=settings)
    try:
        async with database.transaction() as session:
            await session.exec(text("UPDATE alembic_version SET version_num = '9999'"))
    finally:
        await database.close()
    with pytest.raises(DatabaseOpenError) as raised:
        await upgrade_in_child_process(database_url=settings.database_url)
    message = str(raised.value)
    assert "9999" in message and "\n" not in message and not message.startswith("policybot:")
    assert await _revision(settings.database_url) == "9999"
