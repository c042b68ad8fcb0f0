"""The Slack app runs as a real aiohttp server on loopback with the real conversation core, advisor and a
SQLite database in the test's folder; the Web API is a local recording server."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import ClientSession, web
from slack_harness import BOT_TOKEN, SIGNING_SECRET, RecordingSlackApi, SignedClient

from bot.config import Settings
from bot.slack import build_slack_app
from handlers.core import ConversationCore


@pytest.fixture
async def slack_api():
    api = RecordingSlackApi()
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
def settings(slack_api, tmp_path) -> Settings:
    return Settings(
        _env_file=None,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack_api.api_url,
        database_url=f"sqlite+aiosqlite:///{tmp_path}/slack.db",
        headteacher_name="Mrs Patel",
    )


@pytest.fixture
async def core(settings):
    core = await ConversationCore.start(settings=settings)
    yield core
    await core.close()


@pytest.fixture
async def slack(settings, core):
    """A running server with the Slack routes; yields a client that signs its requests."""
    adapter = build_slack_app(settings=settings, core=core)
    app = web.Application()
    adapter.add_routes(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    async with ClientSession() as session:
        yield SignedClient(session=session, url=f"http://127.0.0.1:{port}/slack/events")
    # Let listeners that run after the acknowledgement finish before the database closes.
    pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task() and "run_ack_function" in repr(task)]
    if pending:
        await asyncio.wait(pending, timeout=5)
    await adapter.close()
    await runner.cleanup()
