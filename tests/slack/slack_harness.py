"""Slack at the HTTP edge, as bolt-python's own tests do it: a recording stand-in for the Web API (and
for response_url hooks) on loopback, and a client that signs requests like Slack does."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
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
# A real 1x1 PNG: what the recording Web API serves as an uploaded screenshot.
PNG_BYTES = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
# What Slack answers instead of a file when the token may not read it: a 200 with its sign-in page.
SIGN_IN_PAGE = "<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in</body></html>"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class RecordingSlackApi:
    """Answers every Web API method with ok and keeps (method, arguments) in `calls`.

    `dm_channels` (user id → DM channel id) answers conversations.open as Slack does; chat.postMessage
    answers each message with its own ts, kept in the recorded arguments as `_ts`. `refuse()` scripts
    failures, which are kept in `refused` instead of `calls`; `answer_with()` scripts what a method
    answers when it succeeds."""

    def __init__(self, *, dm_channels: dict[str, str] | None = None) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.dm_channels = dict(dm_channels or {})
        self.refused: list[tuple[str, dict]] = []
        self._refusals: dict[str, list[int | str | tuple[int, str]]] = {}
        self._scripted: dict[str, dict] = {}
        self._drops: dict[str, int] = {}
        self._message_numbers = itertools.count(1)
        self.app = web.Application()
        self.app.router.add_post("/api/{method}", self._api)
        self.app.router.add_post("/hooks/{path:.*}", self._hook)
        self.app.router.add_get("/files-pri/{path:.*}", self._file)
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

    def refuse(self, method: str, *failures: int | str | tuple[int, str]) -> None:
        """Answer the next calls of `method` with `failures`, one each, in turn: an HTTP status (with a
        bare error page, as a proxy or Slack's edge sends it; 429 with Retry-After: 0), a Slack error
        code (HTTP 200 with ok: false), or (HTTP status, plain text) for a body that is not the Web
        API's JSON at all."""
        self._refusals.setdefault(method, []).extend(failures)

    def drop(self, method: str, *, times: int = 1) -> None:
        """Close the connection without an answer on the next `times` calls of `method` (kept in
        `refused` with `_answered: "dropped"`), as a proxy does when its upstream goes away."""
        self._drops[method] = self._drops.get(method, 0) + times

    def answer_with(self, method: str, data: dict) -> None:
        """Answer every later successful call of `method` with `data` (apps.connections.open's URL, say)."""
        self._scripted[method] = data

    def _refusal(self, method: str, arguments: dict) -> web.Response | None:
        queued = self._refusals.get(method)
        if not queued:
            return None
        failure = queued.pop(0)
        self.refused.append((method, {**arguments, "_answered": failure}))
        if isinstance(failure, str):
            return web.json_response({"ok": False, "error": failure})
        if isinstance(failure, tuple):
            status, text = failure
            return web.Response(status=status, text=text, content_type="text/plain")
        headers = {"Retry-After": "0"} if failure == 429 else None
        return web.Response(status=failure, text="Internal Server Error", headers=headers)

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.content_type == "application/json":
            arguments = await request.json()
        else:
            # slack_sdk sends some methods' arguments (conversations.open) in the query string.
            arguments = {**request.query, **dict(await request.post())}
        arguments["_authorization"] = request.headers.get("Authorization", "")
        if self._drops.get(method):
            self._drops[method] -= 1
            self.refused.append((method, {**arguments, "_answered": "dropped"}))
            request.transport.close()
            return web.Response()  # never reaches the client: the connection is gone
        refusal = self._refusal(method, arguments)
        if refusal is not None:
            return refusal
        self.calls.append((method, arguments))
        if method in self._scripted:
            return web.json_response(self._scripted[method])
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
        if method == "chat.postMessage":
            arguments["_ts"] = f"1760001{next(self._message_numbers):03d}.000100"
            return web.json_response({"ok": True, "channel": arguments.get("channel"), "ts": arguments["_ts"]})
        if method == "chat.update":
            return web.json_response({"ok": True, "channel": arguments.get("channel"), "ts": arguments.get("ts")})
        if method == "conversations.open" and arguments.get("users") in self.dm_channels:
            return web.json_response({"ok": True, "channel": {"id": self.dm_channels[arguments["users"]]}})
        if method == "chat.postEphemeral":
            return web.json_response({"ok": True, "message_ts": "1760000999.000200"})
        return web.json_response({"ok": True})

    def file_url(self, original: str) -> str:
        """A fixture's files.slack.com address (url_private…), pointed at this server."""
        return f"{self.url}/{original.split('://', 1)[1].split('/', 1)[1]}"

    async def _file(self, request: web.Request) -> web.Response:
        """Slack's file hosting: the bytes with the bot token, a sign-in page without it."""
        authorization = request.headers.get("Authorization", "")
        self.calls.append(("file", {"path": request.path, "_authorization": authorization}))
        if authorization != f"Bearer {BOT_TOKEN}":
            return web.Response(text=SIGN_IN_PAGE, content_type="text/html")
        return web.Response(body=PNG_BYTES, content_type="image/png")

    async def _hook(self, request: web.Request) -> web.Response:
        self.calls.append(("response_url", await request.json()))
        return web.Response(text="ok")

    def answers(self) -> list[tuple[str, dict]]:
        """Every call except bolt's own auth.test and file downloads."""
        return [call for call in self.calls if call[0] not in ("auth.test", "file")]

    def calls_to(self, method: str) -> list[dict]:
        return [arguments for name, arguments in self.calls if name == method]

    async def answers_after(self, request) -> list[tuple[str, dict]]:
        """The Web API calls made in answer to `request` (awaited here), once its listeners have finished."""
        before = len(self.answers())
        await request
        await listeners_finished()
        return self.answers()[before:]

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


async def listeners_finished(timeout: float = 5.0) -> None:
    """Until bolt's listeners, which go on after the acknowledgement, have finished."""
    pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task() and "run_ack_function" in repr(task)]
    if pending:
        await asyncio.wait(pending, timeout=timeout)


@contextlib.asynccontextmanager
async def serve_slack(*, settings, core):
    """The Slack routes of a real adapter on a loopback server; yields (SignedClient, adapter)."""
    from bot.slack import build_slack_app

    adapter = build_slack_app(settings=settings, core=core)
    app = web.Application()
    adapter.add_routes(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        async with ClientSession() as session:
            yield SignedClient(session=session, url=f"http://127.0.0.1:{port}/slack/events"), adapter
        # Let listeners that run after the acknowledgement finish before the database closes.
        await listeners_finished()
    finally:
        await adapter.close()
        await runner.cleanup()


def shown(blocks: list[dict]) -> str:
    """Every text a person reads in `blocks`: sections, their fields, and context lines."""
    parts = []
    for block in blocks:
        if "text" in block:
            parts.append(block["text"]["text"])
        parts.extend(field["text"] for field in block.get("fields", []))
        if block["type"] == "context":
            parts.extend(element.get("text", "") for element in block.get("elements", []))
    return "\n".join(parts)


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


def home_click_payload(*, action_id: str, value: str = "", modal: bool = False, trigger_id: str | None = None) -> dict:
    """A button clicked in the App Home tab (or, with modal=True, in a modal): no channel, no response_url."""
    payload = fixture("block_actions_modal.json" if modal else "block_actions_home.json")
    payload["actions"][0].update(action_id=action_id, value=value, text={"type": "plain_text", "text": action_id})
    if trigger_id:
        payload["trigger_id"] = trigger_id
    return payload


def state_values_for(view: dict, answers: dict) -> dict:
    """The view.state.values Slack sends for a modal rendered as `view`, filled with `answers` (field id →
    text, a choice's value, True/False for a box, a list of file objects for a file input, or a Slack user
    id for a people picker)."""
    values: dict = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        element = block["element"]
        answer = answers.get(block["block_id"])
        kind = element["type"]
        if kind == "plain_text_input":
            state = {"type": kind, "value": answer if answer not in (None, "") else None}
        elif kind in ("static_select", "radio_buttons"):
            chosen = next((option for option in element["options"] if option["value"] == answer), None)
            state = {"type": kind, "selected_option": chosen}
        elif kind == "checkboxes":
            state = {"type": kind, "selected_options": list(element["options"]) if answer else []}
        elif kind == "file_input":
            state = {"type": kind, "files": list(answer or [])}
        elif kind == "users_select":
            state = {"type": kind, "selected_user": answer or None}
        else:
            raise AssertionError(f"no state for a {kind}")
        values[block["block_id"]] = {element["action_id"]: state}
    return values


def submission_payload(view: dict, answers: dict, *, trigger_id: str = "1234567890.4444444444.dddddddddddddddddddddddddddddddd",
                       user: str = "U0TEACHER1") -> dict:
    """A view_submission of the modal `view` (as the app opened it) with `answers`."""
    payload = fixture("view_submission_report.json")
    payload["trigger_id"] = trigger_id
    payload["user"]["id"] = user
    payload["view"].update(
        callback_id=view.get("callback_id", ""),
        private_metadata=view.get("private_metadata", ""),
        blocks=view["blocks"],
        title=view["title"],
        state={"values": state_values_for(view, answers)},
    )
    return payload
