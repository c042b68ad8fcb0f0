"""The async database: engine, sessions, migrations on open, and the encryption key check.

    db = await Database.open(settings=settings)
    async with db.transaction() as session:   # sqlmodel AsyncSession; commits on success, rolls back on error
        ...
    await db.close()
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import random
import re
import sqlite3
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import event, inspect, text
from sqlmodel import select
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.engine.url import URL
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import crypto
from storage.errors import DatabaseOpenError, EncryptionKeyError
from storage.migrations import HEAD_REVISION
from storage.models import ReportCase, StorageMeta
from storage.repository._common import insert_for

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

KEY_CHECK_NAME = "encryption_key_check"
KEY_CHECK_PLAINTEXT = "policybot encryption key check"
# How long a SQLite writer waits for another process's transaction before giving up.
SQLITE_BUSY_TIMEOUT_SECONDS = 30
KEY_CHECK_LOCK = 7_165_302
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# The folder and file hold user ids, conversation references and the audit trail: the bot's user only.
DATA_DIR_MODE = 0o700
DATA_FILE_MODE = 0o600
# Set-up (WAL switch, migrations, key check) retried this many times when SQLite still reports "locked".
SETUP_ATTEMPTS = 5
SETUP_RETRY_BASE_SECONDS = 0.2
# Between "://" and the last "@" of the address: a password may itself hold "/" or "@".
_USERINFO = re.compile(r"://[^\s]*@")


class Database:
    """One engine per process. Sessions carry the cipher in `session.info`, so repository functions can
    encrypt without another argument."""

    def __init__(self, *, engine: AsyncEngine, cipher: crypto.Cipher) -> None:
        self.engine = engine
        self.cipher = cipher

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @classmethod
    async def open(cls, *, settings: Settings, migrate: bool = True) -> Database:
        """Connect (creating the SQLite file under ./data/ on first run), apply migrations, check the key.

        Raises DatabaseOpenError (or its subclass EncryptionKeyError) with a one-line message."""
        engine = create_engine(settings.database_url)
        async with _opening(engine, settings.database_url):
            cipher = await _set_up(engine, settings, migrate=migrate)
        return cls(engine=engine, cipher=cipher)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        session = AsyncSession(self.engine, expire_on_commit=False, info={"cipher": self.cipher})
        try:
            async with session.begin():
                yield session
        finally:
            await session.close()

    async def empty_write_ahead_log(self) -> None:
        """SQLite: move the write-ahead log into the database and empty it, so pages a purge overwrote
        (secure_delete) do not live on in the log. Nothing to do on PostgreSQL."""
        if self.dialect != "sqlite":
            return
        # Outside any transaction (ours all begin with BEGIN IMMEDIATE), so straight on the driver's connection.
        async with self.engine.connect() as connection:
            raw = await connection.get_raw_connection()
            await raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def close(self) -> None:
        await self.engine.dispose()


class _StatementsWithoutValues(logging.Filter):
    """At DEBUG the database's loggers write the values that pass through them: SQLAlchemy each result row,
    aiosqlite each call with its arguments (a statement's parameters). Those values are user, conversation
    and tenant ids, so they are taken out whatever the loggers' levels: rows are dropped, calls are named.
    The statements and their timings are kept (parameters are hidden by `hide_parameters`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "aiosqlite":
            record.args = tuple(_called(arg) for arg in record.args or ())
            return True
        return record.msg != "Row %r"


def _called(value: object) -> str:
    """What aiosqlite ran (`execute`, `commit`…) or the type of error it returned, without arguments."""
    function = getattr(value, "func", value)
    return getattr(function, "__qualname__", None) or type(value).__name__


_WITHOUT_VALUES = _StatementsWithoutValues()
# The loggers the filter sits on: a logger's filters see only the records made on it, not its children's.
VALUE_LOGGERS = ("sqlalchemy.engine.Engine", "aiosqlite")


def create_engine(database_url: str) -> AsyncEngine:
    # hide_parameters: a failing statement's message must not carry user ids or conversation ids into logs.
    for name in VALUE_LOGGERS:
        logging.getLogger(name).addFilter(_WITHOUT_VALUES)  # adding it again changes nothing
    url = _parse_url(database_url)
    if url.get_backend_name() == "sqlite":
        return _create_sqlite_engine(url)
    if url.get_backend_name() in ("postgresql", "postgres"):  # hosting providers often hand out postgres://
        if url.get_driver_name() != "asyncpg":
            url = url.set(drivername="postgresql+asyncpg")
        return create_async_engine(url, pool_pre_ping=True, hide_parameters=True)
    raise DatabaseOpenError(f"DATABASE_URL must be a sqlite+aiosqlite:// or postgresql+asyncpg:// address, not {url.drivername}://")


def _create_sqlite_engine(url: URL) -> AsyncEngine:
    if url.get_driver_name() != "aiosqlite":
        url = url.set(drivername="sqlite+aiosqlite")
    path = sqlite_file(url)
    if path is not None:
        try:
            _create_private_file(path)
        except OSError as error:
            raise DatabaseOpenError(f"Cannot create the database {path}: {error.strerror}") from None
    engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}, hide_parameters=True)

    @event.listens_for(engine.sync_engine, "connect")
    def _configure(dbapi_connection, _record) -> None:
        # Take transactions into our own hands (see _begin_immediate); then set the pragmas.
        # WAL is switched on once, by the first process, under the set-up lock (see _set_up): the switch
        # needs an exclusive lock and fails with "database is locked" when processes race for it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA secure_delete=ON")  # deleted reports are overwritten, not left in free pages
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin_immediate(connection: Connection) -> None:
        # Every transaction takes the write lock at BEGIN: a deferred transaction that reads and then writes
        # fails at once with SQLITE_BUSY in WAL mode when another process wrote in between, whereas
        # BEGIN IMMEDIATE waits for the lock (busy_timeout). This is what makes claims safe across processes.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def sqlite_file(url: URL) -> Path | None:
    """The database file of a SQLite address, or None for an in-memory database."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        return None
    return Path(url.database)


def _create_private_file(path: Path) -> None:
    """Create the folder (0700) and an empty database file (0600) unless they exist: SQLite would create
    the file with the umask's mode, typically readable by every user of the machine. An empty file is a
    valid empty database; SQLite gives its -wal and -shm files the same mode."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=DATA_DIR_MODE, exist_ok=True)
        os.chmod(path.parent, DATA_DIR_MODE)  # mkdir's mode is filtered through the umask
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, DATA_FILE_MODE))
    except FileExistsError:
        pass


@asynccontextmanager
async def _opening(engine: AsyncEngine, database_url: str) -> AsyncIterator[None]:
    """Set-up errors as one-line DatabaseOpenErrors; the engine disposed of when set-up fails."""
    shown = describe_url(database_url)
    try:
        yield
    except EncryptionKeyError:
        await engine.dispose()
        raise
    except (SQLAlchemyError, sqlite3.Error, OSError, ValueError) as error:
        await engine.dispose()
        raise DatabaseOpenError(f"Cannot open the database {shown}: {_one_line(error)}") from error
    except Exception as error:  # alembic and drivers raise their own types; the message is what matters
        await engine.dispose()
        raise DatabaseOpenError(f"Cannot open or migrate the database {shown}: {_one_line(error)}") from error


async def upgrade_in_child_process(*, database_url: str) -> None:
    """Bring the schema to head in a child process (`python -m storage.migrate`) when it is behind, so a
    long-running server never imports Alembic, Mako and their templates: about 20 MB it would keep for
    nothing. Raises DatabaseOpenError with the child's one-line message."""
    engine = create_engine(database_url)
    async with _opening(engine, database_url):
        current = await schema_revision(engine)
    await engine.dispose()
    if current == HEAD_REVISION:
        return
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "storage.migrate",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    # On stdin, not in the arguments or the environment, where other processes could read a password.
    _, errors = await child.communicate(database_url.encode("utf-8") + b"\n")
    if child.returncode != 0:
        lines = errors.decode("utf-8", "replace").strip().splitlines()
        message = lines[-1].removeprefix("policybot: ") if lines else f"the migration process ended with status {child.returncode}"
        raise DatabaseOpenError(message)


async def upgrade_schema(*, database_url: str) -> None:
    """What `python -m storage.migrate` does: migrations only, serialised like any set-up; the encryption
    key is left to the process that opens the database. Raises DatabaseOpenError."""
    engine = create_engine(database_url)
    async with _opening(engine, database_url):
        await _serialised(engine, lambda: _upgrade_to_head(engine))
    await engine.dispose()


async def schema_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, None before the first migration."""
    async with engine.connect() as connection:
        has_table = await connection.run_sync(lambda sync: inspect(sync).has_table("alembic_version"))
        if not has_table:
            return None
        return (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar_one_or_none()


async def _set_up(engine: AsyncEngine, settings: Settings, *, migrate: bool) -> crypto.Cipher:
    return await _serialised(engine, lambda: _migrate_and_check_key(engine, settings, migrate=migrate))


async def _serialised(engine: AsyncEngine, step: Callable[[], Awaitable[T]]) -> T:
    """First-run set-up (WAL, migrations, the key check), serialised across processes.

    PostgreSQL serialises with advisory locks (env.py, _load_cipher). SQLite cannot queue the WAL switch
    (it needs an exclusive lock and fails at once when contended), so processes take turns with an flock
    on a lock file beside the database, and "database is locked" is still retried with backoff (e.g. a
    process of an older version, or a backup tool, holding the file)."""
    path = sqlite_file(engine.url)
    for attempt in range(1, SETUP_ATTEMPTS + 1):
        try:
            if path is None:
                return await step()
            async with _file_lock(path.with_name(path.name + ".lock")):
                await _switch_to_wal(engine)
                return await step()
        except (OperationalError, sqlite3.OperationalError) as error:
            if attempt == SETUP_ATTEMPTS or not _is_busy(error):
                raise
            delay = SETUP_RETRY_BASE_SECONDS * 2 ** (attempt - 1) * (1 + random.random())
            log.info("database busy during set-up (attempt %d of %d); retrying in %.1f s", attempt, SETUP_ATTEMPTS, delay)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


async def _migrate_and_check_key(engine: AsyncEngine, settings: Settings, *, migrate: bool) -> crypto.Cipher:
    if migrate:
        await _upgrade_to_head(engine)
    return await _load_cipher(engine, settings)


async def _switch_to_wal(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        cursor = await raw.driver_connection.execute("PRAGMA journal_mode=WAL")
        await cursor.close()


@asynccontextmanager
async def _file_lock(path: Path) -> AsyncIterator[None]:
    """An exclusive flock on `path` (created 0600), waited for in a thread so the event loop runs on."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, DATA_FILE_MODE)
    try:
        await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _is_busy(error: Exception) -> bool:
    if isinstance(error, DBAPIError) and error.orig is not None:
        error = error.orig
    message = str(error).lower()
    return "database is locked" in message or "database is busy" in message or "database table is locked" in message


def alembic_config():
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


async def _upgrade_to_head(engine: AsyncEngine) -> None:
    # At head already (every start but the first after an upgrade): Alembic is not even imported.
    if await schema_revision(engine) == HEAD_REVISION:
        return
    from alembic import command

    def upgrade(connection: Connection) -> None:
        config = alembic_config()
        # Alembic's "connection sharing" recipe: env.py uses this connection instead of making an engine.
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    async with engine.connect() as connection:
        await connection.run_sync(upgrade)
        await connection.commit()


async def _load_cipher(engine: AsyncEngine, settings: Settings) -> crypto.Cipher:
    key_path = Path(settings.encryption_key_file)
    async with AsyncSession(engine) as session, session.begin():
        # Processes starting together take turns here (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory
        # lock), so the first creates the key and the check, and the others find both.
        if engine.dialect.name == "postgresql":
            await session.exec(text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=KEY_CHECK_LOCK))
        check = await session.get(StorageMeta, KEY_CHECK_NAME)
        if settings.encryption_key:
            encoded, source = settings.encryption_key, "ENCRYPTION_KEY"
        else:
            encoded, source = crypto.read_key_file(key_path), str(key_path)
        if encoded is None:
            holds_data = check is not None or (await session.exec(select(ReportCase.id).limit(1))).first() is not None
            if holds_data:
                raise EncryptionKeyError(
                    f"The encryption key file {key_path} is missing, but the database already holds encrypted data. "
                    "Restore the key file from your backup (or set ENCRYPTION_KEY); a new key will not be created "
                    "over existing data."
                )
            encoded = crypto.create_key_file(key_path)
            log.info("created a new encryption key in %s; back it up: without it, stored reports cannot be read", key_path)
        cipher = crypto.Cipher(crypto.decode_key(encoded, source=source))
        if check is None:
            # Another process starting at the same moment may write its check first: then we verify against it.
            await session.exec(
                insert_for(session, StorageMeta)
                .values(name=KEY_CHECK_NAME, value=cipher.encrypt(KEY_CHECK_PLAINTEXT, purpose=KEY_CHECK_NAME))
                .on_conflict_do_nothing(index_elements=["name"])
            )
            check = await session.get(StorageMeta, KEY_CHECK_NAME, populate_existing=True)
        try:
            cipher.decrypt(check.value, purpose=KEY_CHECK_NAME)
        except crypto.DecryptionError:
            raise EncryptionKeyError(
                f"The encryption key from {source} is not the key this database was encrypted with; "
                "restore the original key file or ENCRYPTION_KEY."
            ) from None
    return cipher


def describe_url(database_url: str) -> str:
    """The address without its password, fit for messages and logs."""
    try:
        # Masked as well: an unescaped "@" or "/" in a password makes the parser take part of it for the host.
        return mask_password(make_url(database_url).render_as_string(hide_password=True))
    except (ArgumentError, ValueError):
        return repr(mask_password(database_url))


def mask_password(text: str) -> str:
    """`text` with the user-and-password part of any address in it (between `://` and `@`) masked."""
    return _USERINFO.sub("://***@", text)


def _parse_url(database_url: str) -> URL:
    try:
        return make_url(database_url)
    except (ArgumentError, ValueError) as error:  # a port that is not a number is a ValueError
        reason = _one_line(error)
        raise DatabaseOpenError(
            mask_password(f"DATABASE_URL is not a valid database address: {database_url!r} ({reason})")
        ) from None


def _one_line(error: BaseException) -> str:
    if isinstance(error, DBAPIError) and error.orig is not None:
        error = error.orig
    text = mask_password(str(error)).strip().splitlines()
    message = text[0] if text else type(error).__name__
    return message.removeprefix("(sqlite3.OperationalError) ")
