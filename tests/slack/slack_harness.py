"""Slack at the HTTP edge, as bolt-python's own tests do it: a recording stand-in for the Web API (and
for response_url hooks) on loopback, and a client that signs requests like Slack does."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from urllib.parse import urlencode

from aiohttp import ClientSession, web
from slack_sdk.signature import SignatureVerifier

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "slack"
SIGNING_SECRET = "test-signing-secret-not-a-real-one"
BOT_TOKEN = "xoxb-test-token"
BOT_USER_ID = "U0POLICYBOT"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class RecordingSlackApi:
    """Answers every Web API method with ok and keeps (method, arguments) in `calls`."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.app = web.Application()
        self.app.router.add_post("/api/{method}", self._api)
        self.app.router.add_post("/hooks/{path:.*}", self._hook)
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def hook_url(self, original: str) -> str:
        """A response_url from a fixture, pointed at this server."""
        return f"{self.url}/hooks/{original.split('://', 1)[1].split('/', 1)[1]}"

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.content_type == "application/json":
            arguments = await request.json()
        else:
            arguments = dict(await request.post())
        arguments["_authorization"] = request.headers.get("Authorization", "")
        self.calls.append((method, arguments))
        if method == "auth.test":
            return web.json_response(
                {
                    "ok": True,
                    "url": "https://greenfield-primary.slack.com/",
                    "team": "Greenfield Primary",
                    "user": "policybot",
                    "team_id": "T0SCHOOL1",
                    "user_id": BOT_USER_ID,
                    "bot_id": "B0POLICYBOT",
                    "is_enterprise_install": False,
                }
            )
        if method in ("chat.postMessage", "chat.update"):
            return web.json_response({"ok": True, "channel": arguments.get("channel"), "ts": "1760000999.000100"})
        if method == "chat.postEphemeral":
            return web.json_response({"ok": True, "message_ts": "1760000999.000200"})
        return web.json_response({"ok": True})

    async def _hook(self, request: web.Request) -> web.Response:
        self.calls.append(("response_url", await request.json()))
        return web.Response(text="ok")

    def answers(self) -> list[tuple[str, dict]]:
        """Every call except bolt's own auth.test."""
        return [call for call in self.calls if call[0] != "auth.test"]

    async def wait_for_answers(self, count: int, *, timeout: float = 5.0) -> list[tuple[str, dict]]:
        deadline = time.monotonic() + timeout
        while len(self.answers()) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} Web API answers, got {self.answers()}")
            await asyncio.sleep(0.01)
        return self.answers()


class SignedClient:
    """Posts to the app's /slack/events the way Slack does: signed with the signing secret."""

    def __init__(self, *, session: ClientSession, url: str, secret: str = SIGNING_SECRET) -> None:
        self.session = session
        self.url = url
        self.verifier = SignatureVerifier(secret)

    async def post_raw(self, body: str, *, content_type: str, timestamp: int | None = None, signed_body: str | None = None,
                       signature: str | None = None, headers: dict | None = None):
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        signature = signature or self.verifier.generate_signature(
            timestamp=stamp, body=body if signed_body is None else signed_body
        )
        all_headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature,
            **(headers or {}),
        }
        async with self.session.post(self.url, data=body.encode("utf-8"), headers=all_headers) as response:
            return response.status, await response.text()

    async def event(self, payload: dict, **options):
        return await self.post_raw(json.dumps(payload), content_type="application/json", **options)

    async def command(self, fields: dict, **options):
        return await self.post_raw(urlencode(fields), content_type="application/x-www-form-urlencoded", **options)

    async def interaction(self, payload: dict, **options):
        return await self.post_raw(
            urlencode({"payload": json.dumps(payload)}), content_type="application/x-www-form-urlencoded", **options
        )


def buttons_in(blocks: list[dict]) -> dict[str, dict]:
    return {
        element["action_id"]: element
        for block in blocks
        if block["type"] == "actions"
        for element in block["elements"]
    }


def click_payload(*, button: dict, response_url: str, channel: str = "D0BOTDM01", ephemeral: bool = False,
                  trigger_id: str = "1234567890.3333333333.cccc") -> dict:
    payload = fixture("block_actions.json")
    payload["actions"][0].update(action_id=button["action_id"], value=button.get("value", ""), text=button["text"])
    payload["container"].update(channel_id=channel, is_ephemeral=ephemeral)
    payload["channel"]["id"] = channel
    payload["response_url"] = response_url
    payload["trigger_id"] = trigger_id
    return payload
