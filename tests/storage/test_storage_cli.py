"""`policybot db upgrade`, `audit export`, `purge` and `roles`, on both databases."""

from __future__ import annotations

import asyncio
import csv
import io
import subprocess
import sys
from datetime import date, timedelta

import pytest
from sqlalchemy import update

from bot.cli import main
from bot.config import get_settings
from storage import repository as repo
from storage.database import Database
from storage.models import ReportCase

HEADTEACHER = repo.Actor(role="headteacher", platform="slack", user_id="UHEAD")


@pytest.fixture
def configured(settings, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ENCRYPTION_KEY_FILE", str(settings.encryption_key_file))
    get_settings.cache_clear()
    return settings


def _seed(settings, action):
    async def run():
        database = await Database.open(settings=settings)
        try:
            async with database.transaction() as session:
                return await action(session)
        finally:
            await database.close()

    return asyncio.run(run())


def test_db_upgrade_reports_the_revision(configured, capsys):
    assert main(["db", "upgrade"]) == 0
    from alembic.script import ScriptDirectory

    from storage.database import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert f"is up to date (revision {head})" in capsys.readouterr().out


def test_audit_export_to_stdout_and_to_a_file(configured, capsys, tmp_path):
    _seed(configured, lambda session: repo.assign_role(session=session, role="headteacher", platform="slack", user_id="UHEAD", actor=HEADTEACHER))
    assert main(["audit", "export"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(row["action"], row["actor_user_id"]) for row in rows] == [("role.assigned", "UHEAD")]
    assert main(["audit", "export", "--output", str(tmp_path / "audit.csv")]) == 0
    assert "Wrote 1 audit event(s)" in capsys.readouterr().err
    assert list(csv.DictReader((tmp_path / "audit.csv").open()))[0]["action"] == "role.assigned"


def test_purge_prints_what_it_removed(configured, capsys):
    async def old_closed_case(session):
        new = await repo.create_case(session=session, text="an old report")
        await repo.add_reporter_message(session=session, code=new.code, secret=new.secret, text="follow-up")
        await repo.close_case(session=session, code=new.code, actor=HEADTEACHER)
        await session.exec(update(ReportCase).values(closed_on=date.today() - timedelta(days=40)))
        return new.code

    code = _seed(configured, old_closed_case)
    assert main(["purge", "--days", "60"]) == 0
    assert "0  closed cases deleted" in capsys.readouterr().out
    assert main(["purge", "--days", "30"]) == 0
    out = capsys.readouterr().out
    assert "1  closed cases deleted" in out and "1  case messages deleted" in out and "audit event details cleared" in out
    assert "2  notifications about those cases deleted" in out and "undelivered notifications given up" in out
    assert _seed(configured, lambda session: repo.get_case(session=session, code=code)) is None


def test_roles_assign_list_unassign(configured, capsys):
    assert main(["roles", "assign", "headteacher", "--platform", "teams", "--user", "29:abc", "--name", "Mrs Patel"]) == 0
    assert main(["roles", "list"]) == 0
    assert "29:abc" in capsys.readouterr().out
    assert main(["roles", "unassign", "headteacher", "--platform", "teams", "--user", "29:abc"]) == 0
    assert "no longer headteacher" in capsys.readouterr().out


def test_a_database_that_cannot_be_opened_exits_2_with_one_line(tmp_path):
    (tmp_path / "broken.db").write_bytes(b"not a database at all" * 50)
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "db", "upgrade"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'broken.db'}"},
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Cannot open the database" in result.stderr
