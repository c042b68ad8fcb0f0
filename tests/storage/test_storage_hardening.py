"""Opening the database safely: first-run set-up serialised across processes, addresses and passwords kept
out of messages, bound parameters kept out of exceptions, and private file modes."""

from __future__ import annotations

import asyncio
import fcntl
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.config import Settings
from storage import database as storage_database
from storage.database import Database, describe_url, mask_password
from storage.errors import DatabaseOpenError
from storage.models import ConversationReference

PASSWORD = "Sup3r-s3cret/pa@ss"


# --- Addresses and passwords ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "database_url",
    [
        "postgresql://u:p@h:notaport/x",
        f"postgresql+asyncpg://policybot:{PASSWORD}@db.school.internal:notaport/policybot",
    ],
)
async def test_an_address_that_does_not_parse_gives_one_line_without_the_password(database_url):
    with pytest.raises(DatabaseOpenError) as raised:
        await Database.open(settings=Settings(_env_file=None, database_url=database_url))
    message = str(raised.value)
    assert "\n" not in message and "DATABASE_URL is not a valid database address" in message
    assert "Sup3r" not in message and "s3cret" not in message and ":p@" not in message


async def test_a_password_with_an_unescaped_at_sign_is_not_shown_as_the_host():
    with pytest.raises(DatabaseOpenError) as raised:
        await Database.open(settings=Settings(_env_file=None, database_url=f"postgresql+asyncpg://policybot:{PASSWORD}@"))
    message = str(raised.value)
    assert "\n" not in message and "s3cret" not in message and "ss@" not in message


async def test_a_server_that_refuses_the_connection_is_named_without_the_password():
    url = f"postgresql+asyncpg://policybot:{PASSWORD.replace('/', '%2F').replace('@', '%40')}@127.0.0.1:1/policybot"
    with pytest.raises(DatabaseOpenError) as raised:
        await Database.open(settings=Settings(_env_file=None, database_url=url))
    message = str(raised.value)
    assert "127.0.0.1" in message and "Sup3r" not in message and "\n" not in message


def test_passwords_are_masked_between_the_scheme_and_the_host():
    assert mask_password("postgresql://u:p@h:notaport/x") == "postgresql://***@h:notaport/x"
    assert mask_password(f"cannot reach postgresql+asyncpg://me:{PASSWORD}@host/db now") == "cannot reach postgresql+asyncpg://***@host/db now"
    assert mask_password("sqlite+aiosqlite:///./data/policybot.db") == "sqlite+aiosqlite:///./data/policybot.db"
    assert "Sup3r" not in describe_url(f"postgresql://me:{PASSWORD}@host:bad/db")
    assert "Sup3r" not in describe_url("postgresql://me:Sup3r@host:5432/db")


# --- Bound parameters stay out of exceptions --------------------------------------------------------------


async def test_a_failing_statement_does_not_show_its_parameters(db):
    values = {
        "platform": "teams",
        "user_id": "29:private-user-id",
        "conversation_id": "a:private-conversation-id",
        "updated_at": datetime.now(UTC),
        "reference_json": '{"conversation": {"id": "a:private-conversation-id"}}',
    }
    async with db.transaction() as session:
        await session.exec(insert(ConversationReference).values(**values))
    with pytest.raises(IntegrityError) as raised:
        async with db.transaction() as session:
            await session.exec(insert(ConversationReference).values(**values))
    shown = str(raised.value)
    assert "private-user-id" not in shown and "private-conversation-id" not in shown
    assert "hidden" in shown  # SQLAlchemy says so instead


# --- File modes ---------------------------------------------------------------------------------------------


async def test_the_data_folder_is_0700_and_the_database_file_0600(tmp_path):
    previous = os.umask(0o022)
    try:
        database = await Database.open(settings=Settings(_env_file=None))  # ./data/ in the test's own folder
        await database.close()
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
    for name in ("policybot.db", "encryption.key"):
        assert stat.S_IMODE((tmp_path / "data" / name).stat().st_mode) == 0o600, name
    for name in ("policybot.db-wal", "policybot.db-shm"):
        path = tmp_path / "data" / name
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, name


async def test_the_key_folder_is_0700_on_postgresql_too(settings, database_url, tmp_path):
    if not database_url.startswith("postgresql"):
        pytest.skip("the SQLite case is covered above")
    previous = os.umask(0o022)
    try:
        database = await Database.open(settings=settings)
        await database.close()
    finally:
        os.umask(previous)
    assert stat.S_IMODE(settings.encryption_key_file.parent.stat().st_mode) == 0o700


# --- First-run set-up on SQLite -------------------------------------------------------------------------------


def _sqlite_settings(tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'data' / 'policybot.db'}",
        encryption_key_file=tmp_path / "data" / "encryption.key",
    )


async def test_set_up_waits_for_the_lock_beside_the_database(tmp_path):
    settings = _sqlite_settings(tmp_path)
    (tmp_path / "data").mkdir()
    lock_path = tmp_path / "data" / "policybot.db.lock"
    holder = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(holder, fcntl.LOCK_EX)  # another process in the middle of its set-up
    try:
        opening = asyncio.create_task(Database.open(settings=settings))
        await asyncio.sleep(0.5)
        assert not opening.done()
        assert not (tmp_path / "data" / "encryption.key").exists()
    finally:
        fcntl.flock(holder, fcntl.LOCK_UN)
        os.close(holder)
    database = await asyncio.wait_for(opening, timeout=30)
    await database.close()
    assert (tmp_path / "data" / "encryption.key").exists()


async def test_a_locked_database_during_set_up_is_retried(tmp_path, monkeypatch):
    settings = _sqlite_settings(tmp_path)
    real = storage_database._migrate_and_check_key
    calls = []

    async def locked_twice(engine, settings, *, migrate):
        calls.append(1)
        if len(calls) <= 2:
            raise OperationalError("PRAGMA journal_mode=WAL", {}, Exception("database is locked"))
        return await real(engine, settings, migrate=migrate)

    monkeypatch.setattr(storage_database, "_migrate_and_check_key", locked_twice)
    monkeypatch.setattr(storage_database, "SETUP_RETRY_BASE_SECONDS", 0.01)
    database = await Database.open(settings=settings)
    await database.close()
    assert len(calls) == 3


async def test_a_database_that_stays_locked_gives_one_line(tmp_path, monkeypatch):
    async def always_locked(engine, settings, *, migrate):
        raise OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))

    monkeypatch.setattr(storage_database, "_migrate_and_check_key", always_locked)
    monkeypatch.setattr(storage_database, "SETUP_RETRY_BASE_SECONDS", 0.01)
    with pytest.raises(DatabaseOpenError, match="database is locked") as raised:
        await Database.open(settings=_sqlite_settings(tmp_path))
    assert "\n" not in str(raised.value)


def _create_at(path_and_start):
    import time

    from storage import crypto

    path, start = path_and_start
    time.sleep(max(0.0, start - time.time()))
    return crypto.create_key_file(path), crypto.read_key_file(path)


def test_processes_creating_the_key_at_once_all_get_the_whole_key(tmp_path):
    # Two servers on two databases may share one key folder (a Slack and a Teams process): no database
    # lock orders them, and neither may read the other's key half-written.
    import time
    from concurrent.futures import ProcessPoolExecutor

    from storage import crypto

    for attempt in range(5):
        path = tmp_path / f"try{attempt}" / "encryption.key"
        path.parent.mkdir()
        start = time.time() + 0.3
        with ProcessPoolExecutor(max_workers=6) as pool:
            results = list(pool.map(_create_at, [(path, start)] * 6))
        keys = {key.strip() for pair in results for key in pair}
        assert len(keys) == 1
        crypto.decode_key(keys.pop(), source=str(path))
        assert [p.name for p in path.parent.iterdir()] == ["encryption.key"]


def test_a_key_folder_without_hard_links_still_gets_its_key(tmp_path, monkeypatch):
    import errno
    import os

    from storage import crypto

    def no_links(source, target):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    path = tmp_path / "data" / "encryption.key"
    key = crypto.create_key_file(path)
    assert crypto.read_key_file(path).strip() == key
    assert [p.name for p in path.parent.iterdir()] == ["encryption.key"]
