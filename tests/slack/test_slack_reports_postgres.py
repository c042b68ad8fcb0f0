"""An anonymous report made through Slack on PostgreSQL: a dump of every column of every table holds
nothing that leads back to the reporter. Skipped locally without POLICYBOT_TEST_POSTGRES_URL; required in CI."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from postgres_server import postgres_server_url
from test_slack_reports import (
    COMMAND_TRIGGER, DM, REPORTER, SUBMIT_TRIGGER, TEAM, USERNAME, WHAT, code_and_secret, open_report_form,
    dm_channels, report_answers, shown, submit,
)

__all__ = ["dm_channels"]  # the headteacher's DM channel, as in test_slack_reports


async def _admin(server_url: str, sql: str) -> None:
    import asyncpg

    url = make_url(server_url)
    connection = await asyncpg.connect(host=url.host, port=url.port, user=url.username, password=url.password,
                                       database=url.database or "postgres")
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture
async def settings(settings):
    server_url = postgres_server_url()
    name = f"policybot_test_{uuid.uuid4().hex[:16]}"
    await _admin(server_url, f'CREATE DATABASE "{name}"')
    try:
        yield settings.model_copy(update={
            "notify_jitter_seconds": 0,
            "database_url": make_url(server_url).set(database=name).render_as_string(hide_password=False),
        })
    finally:
        await _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_a_postgresql_dump_after_a_slack_report_holds_nothing_of_the_reporter(slack, slack_api, core):
    view = await open_report_form(slack, slack_api)
    ack = await submit(slack, view, report_answers(view))
    code, secret = code_and_secret(shown(ack["view"]["blocks"]))
    dumped = []
    async with core.database.engine.connect() as connection:
        columns = (await connection.execute(text(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"
        ))).all()
        for table_name, column_name in columns:
            values = await connection.execute(text(f'SELECT "{column_name}"::text FROM "{table_name}"'))
            dumped += [value for (value,) in values if value is not None]
    everything = "\n".join(dumped)
    assert code in everything, "the case is in the dump"
    for identifying in (REPORTER, TEAM, DM, USERNAME, COMMAND_TRIGGER, SUBMIT_TRIGGER, secret, WHAT[:20]):
        assert identifying not in everything, identifying
