"""End to end through Microsoft's local Teams emulator (npm @microsoft/m365agentsplayground), driven through
its HTTP and WebSocket API the way its web page drives it: install, ask, get the card, click.

Needs Node.js and `npm ci` (make test does it). Skipped with the reason outside CI; in CI it must run."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp import web

from bot.server import build_app
from bot.teams.emulator import (
    EMULATOR_BOT_ID,
    EMULATOR_USER_AAD_OBJECT_ID,
    EMULATOR_USER_ID,
    EMULATOR_USER_NAME,
    Emulator,
    EmulatorUnavailable,
    emulator_environment,
    find_cli,
)
from handlers import texts
from storage import repository as repo

from .conftest import RunningApp

QUESTION = "Can I put photos of my class on my personal Instagram?"


@pytest.fixture
def emulator_available():
    try:
        find_cli()
    except EmulatorUnavailable as reason:
        if os.environ.get("CI"):
            pytest.fail(f"in CI the Teams emulator test must run, but {reason}")
        pytest.skip(str(reason))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class EmulatorClient:
    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self.session = session
        self.base_url = base_url
        self.frames: asyncio.Queue = asyncio.Queue()

    async def config(self) -> dict:
        async with self.session.get(f"{self.base_url}/_internal/v1/config") as response:
            return (await response.json())["config"]

    async def listen(self) -> None:
        # Frames queue in the emulator until a client connects, so connect before sending anything.
        ws_url = self.base_url.replace("http://", "ws://") + "/_ws_conversation/v1/conversations/stream"
        self._ws = await self.session.ws_connect(ws_url)
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for frame in self._ws:
            if frame.type == aiohttp.WSMsgType.TEXT:
                await self.frames.put(json.loads(frame.data))

    async def open_chat(self) -> dict:
        """Listen, then install the bot in the personal chat, as the web page does; the configuration."""
        config = await self.config()
        self.chat, self.user = config["personalChat"]["id"], config["currentUser"]["id"]
        await self.listen()
        await self.post(f"/_debug/conversation/{self.chat}/installation", {})
        return config

    async def say(self, text: str) -> None:
        """The chat's user types `text`."""
        await self.post(
            f"/_conversation/v1/conversations/{self.chat}/messages",
            {"type": "text", "text": text, "textFormat": "plain", "from": {"id": self.user}},
        )

    async def submit(self, message: dict, value: dict) -> None:
        """The chat's user presses an Action.Submit of `message`'s card, which sends `value`."""
        await self.post(
            "/_conversation/v1/submit",
            {"conversation": {"id": self.chat}, "replyToId": message["messageId"], "value": value, "from": {"id": self.user}},
        )

    async def next_frame(self, *actions: str, timeout: float = 15.0) -> dict:
        while True:
            frame = await asyncio.wait_for(self.frames.get(), timeout)
            if frame.get("action") in actions:
                return frame

    async def next_message(self, *, timeout: float = 15.0) -> dict:
        return (await self.next_frame("createMessage", "updateMessage", timeout=timeout))["message"]

    async def post(self, path: str, body: dict) -> None:
        async with self.session.post(f"{self.base_url}{path}", json=body) as response:
            assert response.status == 200, await response.text()

    async def close(self) -> None:
        if hasattr(self, "_ws"):
            self._reader.cancel()
            await self._ws.close()


def card_of(message: dict) -> dict:
    return message["attachments"][0]["content"]


@asynccontextmanager
async def emulator_chat(settings, core):
    """(client, emulator): the bot's app, Microsoft's emulator pointed at it, and a client of its chat."""
    bot = await RunningApp(build_app(settings=settings, core=core)).start()
    try:
        emulator = await Emulator.start(endpoint=f"{bot.url}/api/messages", port=free_port())
        client = EmulatorClient(bot.session, emulator.url)
        try:
            yield client, emulator
        finally:
            await client.close()
            await emulator.stop()
    finally:
        await bot.close()


async def test_ask_and_click_through_the_teams_emulator(emulator_available, settings, core, tmp_path):
    async with emulator_chat(settings, core) as (client, emulator):
        async with core.database.transaction() as session:
            await repo.assign_role(session=session, role=repo.HEADTEACHER, platform="teams", user_id=EMULATOR_USER_ID)
        config = await client.open_chat()
        chat, user = client.chat, client.user
        assert (user, config["currentUser"]["name"]) == (EMULATOR_USER_ID, EMULATOR_USER_NAME)
        await client.say(QUESTION)
        answer = await client.next_message()
        card = card_of(answer)
        icon, title = texts.VERDICT_HEADINGS["not_allowed"]
        assert card["body"][0]["text"] == f"{icon} {title}"
        assert any(item["type"] == "Container" for item in card["body"])  # the quoted clauses
        ask_button = next(action for action in card["actions"] if action["title"] == texts.ASK_HEADTEACHER_BUTTON)

        await client.submit(answer, ask_button["data"])
        confirmation = await client.next_message()
        assert card_of(confirmation)["body"][0]["text"].endswith(texts.ASK_HEADTEACHER_SENT_TITLE.format(headteacher="Mrs Patel"))

        helpful = next(action for action in card["actions"] if action["title"] == texts.HELPFUL_BUTTON)
        async with client.session.post(
            f"{emulator.url}/_conversation/v1/invoke",
            json={
                "conversation": {"id": chat},
                "replyToId": answer["messageId"],
                "name": "adaptiveCard/action",
                "value": {"action": {"type": "Action.Execute", "verb": helpful["data"]["action_id"], "data": helpful["data"]}},
                "from": {"id": user},
            },
        ) as response:
            invoke_response = await response.json()
        assert invoke_response["type"] == "application/vnd.microsoft.activity.message"
        thanks = await client.next_message()
        assert thanks["text"] == texts.FEEDBACK_THANKS_HELPFUL.format(headteacher="Mrs Patel")

        async with core.database.transaction() as session:
            reference = await repo.get_conversation_reference(session=session, platform="teams", user_id=user)
        assert reference["conversation"]["id"] == chat
        assert reference["serviceUrl"] == f"{emulator.url}/_connector"
    # The emulator's log holds the chat: it lived in a private folder that is gone now.
    assert emulator._log_dir is not None and not emulator._log_dir.exists()


async def test_a_report_through_the_teams_emulator(emulator_available, settings, core, tmp_path):
    """The report form in Microsoft's emulator: "report", the form card, its submission replaced in place
    by the case code (an updateMessage, never a new message), "I've noted it", then a screenshot sent in
    the chat as the emulator can send one (a mocked activity: its chat box takes text and cards only)."""
    import re

    from sqlmodel import func, select

    from handlers import report_texts
    from storage.models import CaseEvidence, ReportCase

    from .test_flows import card_texts
    from .test_report_adapter import PNG

    async with emulator_chat(settings, core) as (client, emulator):
        await client.open_chat()
        chat = client.chat
        await client.say("report")
        form_message = await client.next_message()
        form = card_of(form_message)
        inputs = {item["id"]: item for item in form["body"] if item.get("type", "").startswith("Input.")}
        assert {"what", "kind", "where", "about_headteacher", "identity"} <= set(inputs)
        values = {**form["actions"][-1]["data"], **{key: item.get("value", "") for key, item in inputs.items()}}

        await client.submit(form_message, {**values, "what": "A parent posts my photo with abusive comments.", "kind": "harassment_me"})
        frame = await client.next_frame("createMessage", "updateMessage")
        assert frame["action"] == "updateMessage", "the confirmation replaces the form, it is no new message"
        confirmation = frame["message"]
        assert confirmation["messageId"] == form_message["messageId"]
        shown = "\n".join(card_texts(card_of(confirmation)))
        code = re.search(r"Case code: ([A-Z0-9]{4}-[A-Z0-9]{4})\b", shown).group(1)
        secret = re.search(r"Secret: (\S+)", shown).group(1)

        noted = next(action for action in card_of(confirmation)["actions"] if action["title"] == report_texts.NOTED_BUTTON)
        await client.submit(confirmation, noted["data"])
        frame = await client.next_frame("createMessage", "updateMessage")
        assert frame["action"] == "updateMessage" and secret not in json.dumps(frame)
        assert code in "\n".join(card_texts(card_of(frame["message"])))

        # A screenshot, as a mocked activity: the emulator posts it to the bot as it is.
        async with client.session.get(
            f"{emulator.url}/_internal/v1/customActivities/template", params={"conversationId": chat, "type": "install"}
        ) as response:
            template = await response.json()
        picture = {
            **{key: template[key] for key in ("channelId", "serviceUrl", "recipient", "conversation", "from", "channelData", "locale")},
            "type": "message",
            "id": "emulator-evidence-1",
            "text": f"add evidence to {code}",
            "textFormat": "plain",
            "attachments": [{"contentType": "image/png", "name": "screenshot.png", "contentUrl": "data:image/png;base64," + base64.b64encode(PNG).decode()}],
        }
        await client.post("/_internal/v1/customActivities", picture)
        answer = await client.next_frame("createMessage")
        assert code in json.dumps(answer)
        await core.wait_for_background()

        async with core.database.transaction() as session:
            assert (await session.exec(select(func.count()).select_from(ReportCase))).one() == 1
            assert (await session.exec(select(func.count()).select_from(CaseEvidence))).one() == 1


def _config_file(*, user_id: str, name: str) -> str:
    """A valid emulator configuration (JSON is YAML) whose chat user is someone else; its schema wants five
    more users, and every field of each."""
    def person(number: int, person_id: str, person_name: str) -> dict:
        return {"id": person_id, "name": person_name, "userPrincipleName": f"p{number}@example.com",
                "aadObjectId": f"00000000-0000-0000-0000-0000000000{90 + number}", "givenName": f"P{number}",
                "surname": f"S{number}", "email": f"p{number}@example.com"}

    return json.dumps({
        "version": "0.1.1", "tenantId": "00000000-0000-0000-0000-0000000000001",
        "bot": {"id": EMULATOR_BOT_ID, "name": "Test Bot"},
        "currentUser": person(0, user_id, name),
        "users": [person(n, f"other-{n}", f"Other {n}") for n in range(1, 6)],
        "personalChat": {"id": "personal-chat-id"}, "groupChat": {"id": "group-chat-id", "name": "Group Chat"},
        "team": {"id": "team-id", "name": "My Team", "aadGroupId": "00000000-0000-0000-0000-000000000031", "channels": []},
    })


def test_the_emulator_is_kept_to_its_built_in_configuration(tmp_path):
    environment = emulator_environment(log_file=tmp_path / "emulator.log")
    for variable in ("M365_AGENTS_PLAYGROUND_CONFIG_PATH", "TEAMS_APP_TEST_TOOL_CONFIG_PATH"):
        assert not os.path.exists(environment[variable])


async def test_the_emulators_chat_user_is_the_one_named_in_emulator_py(emulator_available, tmp_path, monkeypatch):
    """Who the emulator's user is, as our /api/messages receives them, even with a configuration file that
    names someone else where the server was started (the emulator reads one from its working directory)."""
    (tmp_path / ".m365agentsplayground.yml").write_text(_config_file(user_id="someone-else", name="Someone Else"))
    monkeypatch.chdir(tmp_path)
    received: list[dict] = []

    async def messages(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    bot = await RunningApp(app).start()
    emulator = await Emulator.start(endpoint=f"{bot.url}/api/messages", port=free_port())
    client = EmulatorClient(bot.session, emulator.url)
    try:
        config = await client.config()
        assert (config["currentUser"]["id"], config["currentUser"]["name"]) == (EMULATOR_USER_ID, EMULATOR_USER_NAME)
        assert config["bot"]["id"] == EMULATOR_BOT_ID
        chat = config["personalChat"]["id"]
        await client.post(f"/_debug/conversation/{chat}/installation", {})
        await client.post(
            f"/_conversation/v1/conversations/{chat}/messages",
            {"type": "text", "text": "hello", "textFormat": "plain", "from": {"id": EMULATOR_USER_ID}},
        )
        for _ in range(100):
            if any(activity["type"] == "message" for activity in received):
                break
            await asyncio.sleep(0.05)
        senders = {activity["type"]: activity["from"] for activity in received}
        assert senders["message"] == {"id": EMULATOR_USER_ID, "name": EMULATOR_USER_NAME, "aadObjectId": EMULATOR_USER_AAD_OBJECT_ID}
        assert senders["installationUpdate"]["id"] == EMULATOR_USER_ID  # with no name
        # Only this user may write in the personal chat.
        async with bot.session.post(
            f"{emulator.url}/_conversation/v1/conversations/{chat}/messages",
            json={"type": "text", "text": "hello", "textFormat": "plain", "from": {"id": "user-id-1"}},
        ) as response:
            assert response.status == 400
    finally:
        await emulator.stop()
        await bot.close()
