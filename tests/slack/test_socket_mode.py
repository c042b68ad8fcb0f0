"""Socket Mode end to end: a loopback stand-in for Slack's WebSocket end (apps.connections.open on the
recording Web API gives its ws:// address; it says hello, sends envelopes and collects their
acknowledgements), and the bot's answers at the recording Web API."""

from __future__ import annotations

import asyncio
import contextlib
import json

from aiohttp import WSMsgType, web
from slack_harness import BOT_TOKEN, buttons_in, fixture, listeners_finished
from slack_harness import shown as section_texts
from sqlmodel import func, select

from bot.config import Settings
from bot.slack import build_slack_app
from handlers import actions, texts
from storage.models import Feedback

APP_TOKEN = "xapp-1-A0POLICYBOT-test-not-a-real-one"
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy")


class SocketModeStandIn:
    """What Slack's Socket Mode server does on one connection: `hello` first, then the envelopes given
    to `send()`; every text frame the bot sends back is kept in `acknowledged`."""

    def __init__(self) -> None:
        self.app = web.Application()
        self.app.router.add_get("/link", self._connection)
        self.acknowledged: list[dict] = []
        self.connections = 0
        self._envelopes: asyncio.Queue[dict] = asyncio.Queue()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"ws://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/link"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def send(self, envelope: dict) -> None:
        self._envelopes.put_nowait(envelope)

    async def _connection(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()  # answers the client's pings, as Slack does
        await socket.prepare(request)
        self.connections += 1
        await socket.send_json(fixture("socket_mode_hello.json"))

        async def send_envelopes() -> None:
            while True:
                await socket.send_json(await self._envelopes.get())

        sender = asyncio.create_task(send_envelopes())
        try:
            async for frame in socket:
                if frame.type == WSMsgType.TEXT:
                    self.acknowledged.append(json.loads(frame.data))
        finally:
            sender.cancel()
        return socket

    async def acknowledgement_of(self, envelope: dict, *, timeout: float = 5.0) -> dict:
        async def arrived() -> dict:
            while True:
                for frame in self.acknowledged:
                    if frame.get("envelope_id") == envelope["envelope_id"]:
                        return frame
                await asyncio.sleep(0.01)

        return await asyncio.wait_for(arrived(), timeout)


@contextlib.asynccontextmanager
async def over_socket_mode(*, slack_api, core, tmp_path, monkeypatch):
    """The real adapter connected in Socket Mode (no signing secret, no HTTP route) to the stand-in."""
    for variable in PROXY_VARIABLES:  # slack_sdk would route the WebSocket through a proxy from the environment
        monkeypatch.delenv(variable, raising=False)
    slack_end = SocketModeStandIn()
    await slack_end.start()
    slack_api.answer_with("apps.connections.open", {"ok": True, "url": slack_end.url})
    settings = Settings(
        _env_file=None, slack_bot_token=BOT_TOKEN, slack_app_token=APP_TOKEN, slack_api_url=slack_api.api_url,
        database_url=f"sqlite+aiosqlite:///{tmp_path}/slack.db", headteacher_name="Mrs Patel",
    )
    adapter = build_slack_app(settings=settings, core=core)
    try:
        await adapter.start_socket_mode()
        yield slack_end
        await listeners_finished()
    finally:
        await adapter.close()
        await slack_end.stop()


async def test_a_dm_over_socket_mode_is_acknowledged_and_answered(slack_api, core, tmp_path, monkeypatch):
    async with over_socket_mode(slack_api=slack_api, core=core, tmp_path=tmp_path, monkeypatch=monkeypatch) as slack_end:
        opened = slack_api.calls_to("apps.connections.open")
        assert opened and all(call["_authorization"] == f"Bearer {APP_TOKEN}" for call in opened)
        assert slack_end.connections == 1

        connecting = len(slack_api.answers())  # apps.connections.open
        envelope = fixture("socket_mode_events_api.json")
        slack_end.send(envelope)
        # An envelope is acknowledged with its id alone: Events API envelopes carry no response.
        assert await slack_end.acknowledgement_of(envelope) == {"envelope_id": envelope["envelope_id"]}
        [(method, answer)] = (await slack_api.wait_for_answers(connecting + 1))[connecting:]

    assert method == "chat.postMessage" and answer["channel"] == "D0BOTDM01"
    assert answer["_authorization"] == f"Bearer {BOT_TOKEN}"
    assert texts.YOU_ASKED in section_texts(answer["blocks"])
    assert {actions.FEEDBACK_HELPFUL, actions.FEEDBACK_NOT_HELPFUL} <= set(buttons_in(answer["blocks"]))


async def test_a_click_over_socket_mode_is_stored_before_its_acknowledgement(slack_api, core, tmp_path, monkeypatch):
    async with over_socket_mode(slack_api=slack_api, core=core, tmp_path=tmp_path, monkeypatch=monkeypatch) as slack_end:
        connecting = len(slack_api.answers())
        slack_end.send(fixture("socket_mode_events_api.json"))
        [(_, answer)] = (await slack_api.wait_for_answers(connecting + 1))[connecting:]
        await listeners_finished()

        handle = core.handle

        async def busy_database_handle(message):
            await asyncio.sleep(0.4)
            return await handle(message)

        monkeypatch.setattr(core, "handle", busy_database_handle)
        click = fixture("socket_mode_interactive.json")
        button = buttons_in(answer["blocks"])[actions.FEEDBACK_HELPFUL]
        click["payload"]["actions"][0].update(action_id=button["action_id"], value=button["value"], text=button["text"])
        slack_end.send(click)
        assert await slack_end.acknowledgement_of(click) == {"envelope_id": click["envelope_id"]}
        async with core.database.transaction() as session:
            assert (await session.exec(select(func.count()).select_from(Feedback))).one() == 1
