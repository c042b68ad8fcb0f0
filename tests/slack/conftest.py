"""The Slack app runs as a real aiohttp server on loopback with the real conversation core, advisor and a
SQLite database in the test's folder; the Web API is a local recording server."""

from __future__ import annotations

import pytest
from slack_harness import BOT_TOKEN, SIGNING_SECRET, RecordingSlackApi, serve_slack

from bot.config import Settings
from handlers.core import ConversationCore


@pytest.fixture
def dm_channels() -> dict[str, str]:
    """The DM channel conversations.open gives each user; a module overrides it to name its own."""
    return {}


@pytest.fixture
async def slack_api(dm_channels):
    api = RecordingSlackApi(dm_channels=dm_channels)
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
    async with serve_slack(settings=settings, core=core) as (client, _adapter):
        yield client
