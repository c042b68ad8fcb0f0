"""The async database: engine, sessions, migrations on open, and the encryption key check.

    db = await Database.open(settings=settings)
    async with db.transaction() as session:   # sqlmodel AsyncSession; commits on success, rolls back on error
        ...
    await db.close()
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import event, text
from sqlmodel import select
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.engine.url import URL
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import crypto
from storage.errors import DatabaseOpenError, EncryptionKeyError
from storage.models import ReportCase, StorageMeta
from storage.repository._common import insert_for

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

KEY_CHECK_NAME = "encryption_key_check"
KEY_CHECK_PLAINTEXT = "policybot encryption key check"
# How long a SQLite writer waits for another process's transaction before giving up.
SQLITE_BUSY_TIMEOUT_SECONDS = 30
KEY_CHECK_LOCK = 7_165_302
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


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
        shown = describe_url(settings.database_url)
        try:
            if migrate:
                await _upgrade_to_head(engine)
            cipher = await _load_cipher(engine, settings)
        except EncryptionKeyError:
            await engine.dispose()
            raise
        except (SQLAlchemyError, OSError, ValueError) as error:
            await engine.dispose()
            raise DatabaseOpenError(f"Cannot open the database {shown}: {_one_line(error)}") from error
        except Exception as error:  # alembic and drivers raise their own types; the message is what matters
            await engine.dispose()
            raise DatabaseOpenError(f"Cannot open or migrate the database {shown}: {_one_line(error)}") from error
        return cls(engine=engine, cipher=cipher)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        session = AsyncSession(self.engine, expire_on_commit=False, info={"cipher": self.cipher})
        try:
            async with session.begin():
                yield session
        finally:
            await session.close()

    async def close(self) -> None:
        await self.engine.dispose()


def create_engine(database_url: str) -> AsyncEngine:
    try:
        url = make_url(database_url)
    except ArgumentError:
        raise DatabaseOpenError(f"DATABASE_URL is not a valid database address: {database_url!r}") from None
    if url.get_backend_name() == "sqlite":
        return _create_sqlite_engine(url)
    if url.get_backend_name() in ("postgresql", "postgres"):  # hosting providers often hand out postgres://
        if url.get_driver_name() != "asyncpg":
            url = url.set(drivername="postgresql+asyncpg")
        return create_async_engine(url, pool_pre_ping=True)
    raise DatabaseOpenError(f"DATABASE_URL must be a sqlite+aiosqlite:// or postgresql+asyncpg:// address, not {url.drivername}://")


def _create_sqlite_engine(url: URL) -> AsyncEngine:
    if url.get_driver_name() != "aiosqlite":
        url = url.set(drivername="sqlite+aiosqlite")
    if url.database and url.database != ":memory:":
        try:
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DatabaseOpenError(f"Cannot create the folder for the database {url.database}: {error.strerror}") from None
    engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})

    @event.listens_for(engine.sync_engine, "connect")
    def _configure(dbapi_connection, _record) -> None:
        # Take transactions into our own hands (see _begin_immediate); then set the pragmas.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
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


def alembic_config():
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


async def _upgrade_to_head(engine: AsyncEngine) -> None:
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
        return make_url(database_url).render_as_string(hide_password=True)
    except ArgumentError:
        return repr(database_url)


def _one_line(error: BaseException) -> str:
    if isinstance(error, DBAPIError) and error.orig is not None:
        error = error.orig
    text = str(error).strip().splitlines()
    message = text[0] if text else type(error).__name__
    return message.removeprefix("(sqlite3.OperationalError) ")
