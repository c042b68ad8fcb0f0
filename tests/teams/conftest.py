"""Teams tests post real activity JSON (tests/fixtures/teams/) to /api/messages of the real aiohttp app;
the replies the Agents SDK sends go to a local recording connector standing in for the Bot Connector."""

from __future__ import annotations

import copy
import json
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.config import Settings
from bot.server import build_app
from handlers.core import ConversationCore
from .recording_connector import RecordingConnector, start_recording_connector

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "teams"


def load_activity(name: str, *, service_url: str, **fields) -> dict:
    activity = json.loads((FIXTURES / f"{name}.json").read_text())
    activity["serviceUrl"] = service_url
    activity.update(copy.deepcopy(fields))
    return activity


def local_settings(tmp_path: Path, **values) -> Settings:
    return Settings(
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{tmp_path}/policybot.db",
        encryption_key_file=tmp_path / "encryption.key",
        headteacher_name="Mrs Patel",
        **values,
    )


class RunningApp:
    """An aiohttp application served on a free loopback port, with a client session to talk to it."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.url = ""
        self._runner = web.AppRunner(app, access_log=None)
        self.session: aiohttp.ClientSession | None = None

    async def start(self) -> "RunningApp":
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
        self.session = aiohttp.ClientSession()
        return self

    async def post_activity(self, activity: dict, **headers) -> aiohttp.ClientResponse:
        response = await self.session.post(f"{self.url}/api/messages", json=activity, headers=headers)
        await response.read()
        return response

    async def close(self) -> None:
        if self.session:
            await self.session.close()
        await self._runner.cleanup()


@asynccontextmanager
async def running_bot(settings: Settings):
    """(core, app) for settings other than the fixtures' (e.g. `teams_card_actions="execute"`)."""
    core = await ConversationCore.start(settings=settings)
    running = await RunningApp(build_app(settings=settings, core=core)).start()
    try:
        yield core, running
    finally:
        await running.close()
        await core.close()


@pytest.fixture
async def connector():
    connector, runner = await start_recording_connector()
    yield connector
    await runner.cleanup()


@pytest.fixture
def settings(tmp_path) -> Settings:
    return local_settings(tmp_path)


@pytest.fixture
async def core(settings):
    core = await ConversationCore.start(settings=settings)
    yield core
    await core.close()


@pytest.fixture
async def bot(settings, core):
    running = await RunningApp(build_app(settings=settings, core=core)).start()
    yield running
    await running.close()


@pytest.fixture
def activity(connector: RecordingConnector):
    """`activity("message_personal", text=...)`: a fixture activity whose serviceUrl is the connector."""

    def make(name: str, **fields) -> dict:
        return load_activity(name, service_url=connector.base_url, **fields)

    return make


def pytest_configure(config):
    # The Agents SDK's JWT middleware stores the caller's identity under a plain string request key.
    config.addinivalue_line("filterwarnings", "ignore:It is recommended to use web.RequestKey:aiohttp.web_exceptions.NotAppKeyWarning")
