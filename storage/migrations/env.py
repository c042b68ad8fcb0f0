"""Alembic environment, running on the async engine.

`Database.open` and `policybot db upgrade` pass their connection in `config.attributes["connection"]`
(Alembic's connection-sharing recipe); run as `alembic -c ...` it builds an async engine from DATABASE_URL."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

import storage.models

config = context.config
target_metadata = storage.models.metadata
# Any constant works; it only has to be the same in every policybot process.
POSTGRES_MIGRATION_LOCK = 7_165_301


def do_run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Two bot processes starting together must not both create the tables.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": POSTGRES_MIGRATION_LOCK})
        context.run_migrations()


async def run_async_migrations() -> None:
    from bot.config import get_settings
    from storage.database import create_engine

    engine = create_engine(get_settings().database_url)
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
        await connection.commit()
    await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        asyncio.run(run_async_migrations())
    else:
        do_run_migrations(connection)


if context.is_offline_mode():
    raise SystemExit("policybot migrations run online only: use `policybot db upgrade`")
run_migrations_online()
