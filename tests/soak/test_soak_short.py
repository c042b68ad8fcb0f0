"""The short form of `make soak` (bench/soak): each check against real `policybot serve` processes on
loopback, a few seconds each, nothing lost. PostgreSQL checks use POLICYBOT_TEST_POSTGRES_URL; without it
they skip locally and fail in CI."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # bench/ is not an installed package

from bench.soak import audit, duplicates, replicas  # noqa: E402
from bench.soak.table import Row, SoakContext, failed, render  # noqa: E402
from postgres_server import POSTGRES_URL_VARIABLE, postgres_server_url  # noqa: E402

# The fault checks, written beside these; each runs here once it exists.
FAULT_CHECKS = ("faults", "kills", "hostile")


async def short_run(check, tmp_path: Path, *, kinds: tuple[str, ...], postgres_url: str | None = None) -> list[Row]:
    ctx = SoakContext(short=True, workdir=tmp_path / "soak", postgres_url=postgres_url, database_kinds=kinds)
    ctx.workdir.mkdir()
    try:
        rows = await check.run(ctx)
    finally:
        await ctx.close()
    print(render(rows))
    return rows


def assert_nothing_lost(rows: list[Row]) -> None:
    assert rows and not failed(rows), "\n" + render(rows)
    assert all(row.held for row in rows if not row.skipped), "\n" + render(rows)


async def test_the_load_and_the_anonymity_audit_on_sqlite(tmp_path):
    # The audit's own load (questions, Helpful clicks, anonymous reports on Slack and Teams at DEBUG),
    # then every database and log line searched for the reporters.
    rows = await short_run(audit, tmp_path, kinds=("sqlite",))
    assert_nothing_lost(rows)
    assert any(row.check == "audit: load at DEBUG" and "reports confirmed" in row.figure for row in rows)


async def test_the_load_and_the_anonymity_audit_on_postgres(tmp_path):
    rows = await short_run(audit, tmp_path, kinds=("postgres",), postgres_url=postgres_server_url())
    assert_nothing_lost(rows)


async def test_duplicate_deliveries_have_one_effect(tmp_path):
    assert_nothing_lost(await short_run(duplicates, tmp_path, kinds=("sqlite",)))


async def test_two_replicas_on_one_postgres_deliver_and_decide_once(tmp_path):
    assert_nothing_lost(await short_run(replicas, tmp_path, kinds=("postgres",), postgres_url=postgres_server_url()))


@pytest.mark.parametrize("name", FAULT_CHECKS)
async def test_the_fault_checks(name, tmp_path):
    try:
        check = importlib.import_module(f"bench.soak.{name}")
    except ModuleNotFoundError as error:
        if error.name != f"bench.soak.{name}":
            raise
        pytest.skip(f"bench/soak/{name}.py is not written yet")
    rows = await short_run(check, tmp_path, kinds=("sqlite", "postgres"), postgres_url=os.environ.get(POSTGRES_URL_VARIABLE) or None)
    assert rows and not failed(rows), "\n" + render(rows)


def test_the_table_fails_the_suite_on_a_loss_and_lines_up():
    rows = [Row("a check", "12 answered", held=12), Row("another, longer check", "1 lost", held=3, lost=1, refused=2)]
    assert failed(rows) and not failed(rows[:1])
    lines = render(rows).splitlines()
    assert len({len(line) for line in lines[:2]}) == 1  # the header and its rule
    assert lines[3].split()[-3:] == ["3", "1", "2"]
