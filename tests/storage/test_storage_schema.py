"""Migrations build exactly the schema the models describe; opening a bad database fails with one line."""

from __future__ import annotations

import os
import stat

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from bot.config import Settings
from storage import repository as repo
from storage.database import Database, alembic_config
from storage.errors import DatabaseOpenError, EncryptionKeyError
from storage.models import metadata


def _schema_differences(connection) -> list:
    context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
    return compare_metadata(context, metadata)


async def test_the_schema_built_from_migrations_matches_the_models(db):
    async with db.engine.connect() as connection:
        differences = await connection.run_sync(_schema_differences)
    assert differences == []


async def test_migrations_go_down_to_nothing_and_back_up(db):
    def downgrade_and_upgrade(connection) -> list[str]:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
        tables_after_downgrade = sorted(set(metadata.tables) & set(connection.dialect.get_table_names(connection)))
        command.upgrade(config, "head")
        return tables_after_downgrade

    async with db.engine.connect() as connection:
        assert await connection.run_sync(downgrade_and_upgrade) == []
        await connection.commit()
    async with db.engine.connect() as connection:
        assert await connection.run_sync(_schema_differences) == []


def test_there_is_one_migration_head():
    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1


async def test_opening_again_is_a_no_op(settings):
    for _ in range(2):
        database = await Database.open(settings=settings)
        async with database.engine.connect() as connection:
            revision = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
        await database.close()
    assert revision == ScriptDirectory.from_config(alembic_config()).get_current_head()


async def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_secure_delete(tmp_path):
    settings = Settings(_env_file=None)  # the default: a file under ./data/ (the test's own folder)
    database = await Database.open(settings=settings)
    try:
        assert (tmp_path / "data" / "policybot.db").exists()
        async with database.engine.connect() as connection:
            pragmas = {
                name: (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar()
                for name in ("journal_mode", "foreign_keys", "secure_delete")
            }
    finally:
        await database.close()
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "secure_delete": 1}


# --- Encryption key -------------------------------------------------------------------------------------


async def test_a_key_file_is_created_on_first_run_with_mode_0600(settings):
    database = await Database.open(settings=settings)
    await database.close()
    assert stat.S_IMODE(os.stat(settings.encryption_key_file).st_mode) == 0o600


async def test_a_lost_key_file_stops_start_up_and_is_not_replaced(settings):
    database = await Database.open(settings=settings)
    async with database.transaction() as session:
        await repo.create_case(session=session, text="a report")
    await database.close()
    settings.encryption_key_file.unlink()
    with pytest.raises(EncryptionKeyError) as raised:
        await Database.open(settings=settings)
    message = str(raised.value)
    assert "is missing" in message and "Restore the key file" in message and "\n" not in message
    assert not settings.encryption_key_file.exists()


async def test_a_different_key_is_refused(settings):
    database = await Database.open(settings=settings)
    await database.close()
    settings.encryption_key_file.write_text("A" * 43 + "=\n")
    with pytest.raises(EncryptionKeyError, match="not the key this database was encrypted with"):
        await Database.open(settings=settings)


async def test_the_key_can_come_from_settings(settings):
    from storage.crypto import generate_key

    keyed = settings.model_copy(update={"encryption_key": generate_key()})
    database = await Database.open(settings=keyed)
    async with database.transaction() as session:
        new = await repo.create_case(session=session, text="a report")
    await database.close()
    assert not settings.encryption_key_file.exists()
    database = await Database.open(settings=keyed)
    async with database.transaction() as session:
        assert (await repo.open_case(session=session, code=new.code, secret=new.secret)).text == "a report"
    await database.close()


async def test_a_malformed_key_is_refused_clearly(settings):
    with pytest.raises(EncryptionKeyError, match="ENCRYPTION_KEY is not valid"):
        await Database.open(settings=settings.model_copy(update={"encryption_key": "change-me"}))


# --- Databases that cannot be opened --------------------------------------------------------------------


@pytest.mark.parametrize(
    "database_url",
    [
        "sqlite+aiosqlite:///./not-a-database.db",
        "postgresql+asyncpg://nobody@127.0.0.1:1/policybot",
        "mysql://root@localhost/policybot",
        "not a url",
    ],
)
async def test_a_database_that_cannot_be_opened_gives_one_clear_line(tmp_path, database_url):
    (tmp_path / "not-a-database.db").write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(DatabaseOpenError) as raised:
        await Database.open(settings=Settings(_env_file=None, database_url=database_url))
    message = str(raised.value)
    assert "\n" not in message and len(message) < 300
    assert (tmp_path / "not-a-database.db").read_bytes() == b"this is not SQLite" * 100  # nothing changed


async def test_a_database_from_a_newer_version_is_refused(settings):
    database = await Database.open(settings=settings)
    async with database.engine.begin() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = 'ffff_from_the_future'"))
    await database.close()
    with pytest.raises(DatabaseOpenError, match="ffff_from_the_future"):
        await Database.open(settings=settings)


async def _down_to_and_back_up(db, revision: str) -> None:
    def down_and_up(connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
        command.upgrade(config, "head")

    async with db.engine.connect() as connection:
        await connection.run_sync(down_and_up)
        await connection.commit()


async def test_moving_between_revisions_keeps_every_case_message_and_notification(db):
    """0002 links notifications to cases and adds the close note; on SQLite neither step may copy the case
    table, whose old copy's DROP would cascade to every message and escalation."""
    async with db.transaction() as session:
        new = await repo.create_case(session=session, text="a report")
        await repo.add_reporter_message(session=session, code=new.code, secret=new.secret, text="a follow-up")
        await repo.escalate_case(session=session, code=new.code, to_role="safeguarding_lead", actor=repo.SYSTEM, note="a note")

    await _down_to_and_back_up(db, "0001")
    async with db.engine.connect() as connection:
        counts = {
            table: (await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
            for table in ("report_case", "case_message", "escalation", "notification")
        }
    assert counts == {"report_case": 1, "case_message": 1, "escalation": 1, "notification": 3}


async def test_going_back_to_0003_and_up_again_keeps_questions_and_removals(db):
    """0004 adds the decisions' columns in place: on SQLite, escalation and removal_request are not copied."""
    teacher = repo.Actor(role="staff", platform="slack", user_id="UTEACHER")
    async with db.transaction() as session:
        await repo.create_escalation(session=session, requester=teacher, question="Can I post this?", draft="a draft", topic="friend")
        request = await repo.create_removal_request(session=session, requester=teacher, description="a photo", location="parent")
    await _down_to_and_back_up(db, "0003")
    async with db.transaction() as session:
        [question] = await repo.list_open_escalations(session=session)
        stored = await repo.get_removal_request(session=session, request_id=request.id)
    # The rows stay; what 0004 added starts again from its defaults.
    assert (question.question, question.topic, question.draft) == ("Can I post this?", "post", "")
    assert (stored.description, stored.location, stored.origin, stored.poster_name, stored.reason) == ("a photo", "elsewhere", "request", "", "")


async def test_going_back_to_0004_and_up_again_keeps_the_feedback(db):
    """0005 adds feedback's digest and its unique index in place; rows from before have none and stay."""
    async with db.transaction() as session:
        await repo.record_feedback(
            session=session, situation="photos_of_pupils", verdict="not_allowed", helpful=True,
            platform="slack", answer_id="D1:1.2", user_id="U1",
        )
    await _down_to_and_back_up(db, "0004")
    async with db.engine.connect() as connection:
        rows = (await connection.execute(text("SELECT situation, helpful, giver_digest FROM feedback"))).all()
    assert [(situation, bool(helpful), digest) for situation, helpful, digest in rows] == [("photos_of_pupils", True, None)]
    # The person's next click on that answer is a new feedback: the old row cannot be matched any more.
    async with db.transaction() as session:
        result = await repo.record_feedback(
            session=session, situation="photos_of_pupils", verdict="not_allowed", helpful=True,
            platform="slack", answer_id="D1:1.2", user_id="U1",
        )
    assert result.outcome == repo.FEEDBACK_NEW
