"""The soak suite's harness: real `policybot serve` processes on loopback, and in this process the platforms
they talk to: a recording Slack Web API, a recording Bot Connector for Teams, signed Slack requests and
Teams activities, a throwaway PostgreSQL cluster.

    async with SlackWebApi() as slack_api, TeamsConnector() as connector:
        bot = BotServer(env=slack_env(workdir=tmp, database_url=sqlite_url(tmp), api=slack_api), workdir=tmp)
        await bot.start()
        ...
        bot.kill(); await bot.start()      # SIGKILL and restart on the same port and database
        bot.peak_rss_mb, bot.log_text()
        await bot.stop()

Everything listens on 127.0.0.1 and every wait has a timeout; subprocesses are killed in `stop()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from aiohttp import ClientSession, ClientTimeout, web

ROOT = Path(__file__).resolve().parent.parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
LOOPBACK = "127.0.0.1"

SIGNING_SECRET = "soak-signing-secret"
BOT_TOKEN = "xoxb-soak"
BOT_USER_ID = "U0POLICYBOT"
TEAM_ID = "T0SOAK"
HEADTEACHER_NAME = "Mrs Patel"
READY_TIMEOUT_S = 60.0
# The rules derived from the policy, kept between starts: shared by every server of every run (keyed by the
# policy's own hash), so a start takes a second rather than three.
POLICY_CACHE = Path(tempfile.gettempdir()) / "policybot-soak-policy-cache"
STOP_TIMEOUT_S = 10.0
REQUEST_TIMEOUT_S = 20.0
# The failure kinds a SlackWebApi or TeamsConnector can be told to answer with for a while.
FAILURE_KINDS = ("429", "500", "502", "hang", "hang_after_taking")
SAID_METHODS = frozenset({"chat.postMessage", "chat.postEphemeral"})


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def fixture(name: str) -> dict:
    """A recorded platform payload from tests/fixtures (e.g. "slack/block_actions.json")."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


# --- Failure windows, shared by both fakes -------------------------------------------------------------

@dataclass
class FailureWindow:
    kind: str
    until: float  # time.monotonic()
    methods: frozenset[str] | None  # None: every method
    retry_after: int = 1

    def applies(self, method: str) -> bool:
        return time.monotonic() < self.until and (self.methods is None or method in self.methods)


class _Failures:
    def __init__(self) -> None:
        self.windows: list[FailureWindow] = []

    def add(self, kind: str, *, seconds: float, methods=None, retry_after: int = 1) -> FailureWindow:
        if kind not in FAILURE_KINDS:
            raise ValueError(f"unknown failure kind {kind!r}; one of {FAILURE_KINDS}")
        window = FailureWindow(kind=kind, until=time.monotonic() + seconds,
                               methods=None if methods is None else frozenset(methods), retry_after=retry_after)
        self.windows.append(window)
        return window

    def current(self, method: str) -> FailureWindow | None:
        self.windows = [window for window in self.windows if time.monotonic() < window.until]
        return next((window for window in self.windows if window.applies(method)), None)

    def clear(self) -> None:
        self.windows.clear()


def _failure_response(window: FailureWindow, *, json_error: str) -> web.Response:
    if window.kind == "429":
        return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(window.retry_after)})
    if window.kind == "500":
        return web.json_response({"ok": False, "error": json_error}, status=500)
    # "502", and "hang" once its window is over: an error page from a proxy, not JSON.
    return web.Response(status=502 if window.kind == "502" else 504, text="<html><body>Bad Gateway</body></html>",
                        content_type="text/html")


class _Recorder:
    """Calls kept in order, and futures resolved by the first later call that matches."""

    def __init__(self) -> None:
        self.calls: list = []
        self._watchers: list[tuple[Callable, asyncio.Future]] = []

    def _record(self, call) -> None:
        self.calls.append(call)
        still = []
        for match, future in self._watchers:
            if future.done():
                continue
            if match(call):
                future.set_result(call)
            else:
                still.append((match, future))
        self._watchers = still

    def next_call(self, match: Callable) -> asyncio.Future:
        """A future for the first call from now on for which `match(call)` is true."""
        future = asyncio.get_running_loop().create_future()
        self._watchers.append((match, future))
        return future

    async def wait_until(self, condition: Callable[[], bool], *, timeout: float) -> bool:
        """Poll `condition()` until true or `timeout` s have passed; whether it came true."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.02)
        return True


class _LoopbackServer:
    def __init__(self) -> None:
        self.app = web.Application(client_max_size=8 * 1024**2)
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self):
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, LOOPBACK, 0)
        await site.start()
        self.url = f"http://{LOOPBACK}:{site._server.sockets[0].getsockname()[1]}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self):
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()


# --- Slack's Web API -----------------------------------------------------------------------------------

@dataclass
class ApiCall:
    method: str  # "chat.postMessage", ..., or "response_url" for a hook
    args: dict
    at: float = field(default_factory=time.monotonic)
    status: int = 200
    failure: str = ""  # the FailureWindow kind it was answered with, "" when it was taken

    @property
    def taken(self) -> bool:
        return not self.failure or self.failure == "hang_after_taking"


class SlackWebApi(_Recorder, _LoopbackServer):
    """A recording stand-in for Slack's Web API (and response_url hooks) on loopback.

    Every call is kept in `calls` (ApiCall, refused ones included with `failure` set). chat.postMessage
    keeps the message per channel with a fresh ts and its `metadata`, which conversations.history gives
    back (with include_all_metadata, as Slack does). conversations.open gives each user a DM channel
    (`dm_channel(user)`); users.info answers with `users[user]` as the name. `fail(kind, seconds=...)`
    answers with a failure for a while: "429" (Retry-After), "500" (JSON), "502" (plain-text page),
    "hang" (no answer until the window ends, then 504), "hang_after_taking" (the message is taken, the
    answer comes when the window ends)."""

    def __init__(self) -> None:
        _Recorder.__init__(self)
        _LoopbackServer.__init__(self)
        self.users: dict[str, str] = {}
        self.dm_channels: dict[str, str] = {}
        self.messages: dict[str, list[dict]] = {}
        self.failures = _Failures()
        self._ts = itertools.count(1)
        self._views = itertools.count(1)
        self.app.router.add_route("*", "/api/{method}", self._api)
        self.app.router.add_post("/hooks/{path:.*}", self._hook)

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, name: str = "") -> str:
        return f"{self.url}/hooks/{name or uuid.uuid4().hex}"

    def dm_channel(self, user_id: str) -> str:
        """The DM channel of `user_id` with the bot (made up once, then the same)."""
        if user_id not in self.dm_channels:
            self.dm_channels[user_id] = "D" + hashlib.sha256(user_id.encode()).hexdigest()[:10].upper()
        return self.dm_channels[user_id]

    def fail(self, kind: str, *, seconds: float, methods=None, retry_after: int = 1) -> FailureWindow:
        return self.failures.add(kind, seconds=seconds, methods=methods, retry_after=retry_after)

    # What was taken.
    def calls_to(self, method: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method == method and call.taken]

    def posted(self, channel: str | None = None) -> list[dict]:
        """chat.postMessage arguments taken, optionally to one channel, in order."""
        return [call.args for call in self.calls_to("chat.postMessage") if channel is None or call.args.get("channel") == channel]

    def said(self, channel: str) -> list[dict]:
        """What the bot showed in `channel`: chat.postMessage and chat.postEphemeral arguments, in order
        (`_ts` is the message's ts; `_ephemeral` marks one only its user sees)."""
        return [call.args for call in self.calls if call.taken and call.method in SAID_METHODS and call.args.get("channel") == channel]

    def next_said(self, channel: str) -> asyncio.Future:
        """A future for the next message the bot shows in `channel` (its ApiCall)."""
        return self.next_call(lambda call: call.method in SAID_METHODS and call.taken and call.args.get("channel") == channel)

    def _new_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts) % 1_000_000:06d}"

    async def _arguments(self, request: web.Request) -> dict:
        arguments = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
                arguments.update(body if isinstance(body, dict) else {})
            else:
                arguments.update(dict(parse_qsl((await request.read()).decode("utf-8", "replace"), keep_blank_values=True)))
        for key in ("metadata", "blocks", "view"):
            if isinstance(arguments.get(key), str):
                with contextlib.suppress(ValueError):
                    arguments[key] = json.loads(arguments[key])
        return arguments

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        arguments = await self._arguments(request)
        window = self.failures.current(method) if method != "auth.test" else None
        if window is not None and window.kind in ("hang", "hang_after_taking"):
            if window.kind == "hang_after_taking":
                answer = self._answer(method, arguments)
                self._record(ApiCall(method, arguments, status=200, failure=window.kind))
                await asyncio.sleep(max(0.0, window.until - time.monotonic()))
                return answer
            await asyncio.sleep(max(0.0, window.until - time.monotonic()))
        if window is not None:
            response = _failure_response(window, json_error="internal_error")
            self._record(ApiCall(method, arguments, status=response.status, failure=window.kind))
            return response
        answer = self._answer(method, arguments)
        self._record(ApiCall(method, arguments))
        return answer

    def _answer(self, method: str, arguments: dict) -> web.Response:
        if method == "auth.test":
            return web.json_response({"ok": True, "url": "https://soak.slack.com/", "team": "Soak", "user": "policybot",
                                      "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": "B0POLICYBOT"})
        if method == "chat.postMessage":
            ts = self._new_ts()
            arguments["_ts"] = ts
            channel = str(arguments.get("channel", ""))
            message = {"type": "message", "user": BOT_USER_ID, "bot_id": "B0POLICYBOT", "ts": ts,
                       "text": arguments.get("text", ""), "blocks": arguments.get("blocks") or []}
            if isinstance(arguments.get("metadata"), dict):
                message["metadata"] = arguments["metadata"]
            self.messages.setdefault(channel, []).append(message)
            return web.json_response({"ok": True, "channel": channel, "ts": ts, "message": message})
        if method == "chat.update":
            return web.json_response({"ok": True, "channel": arguments.get("channel"), "ts": arguments.get("ts")})
        if method == "chat.postEphemeral":
            arguments.update(_ts=self._new_ts(), _ephemeral=True)
            return web.json_response({"ok": True, "message_ts": arguments["_ts"]})
        if method == "conversations.open":
            users = str(arguments.get("users", "")).split(",")[0]
            return web.json_response({"ok": True, "channel": {"id": self.dm_channel(users)}})
        if method in ("views.open", "views.update", "views.push", "views.publish"):
            view = dict(arguments.get("view") or {})
            view.setdefault("id", arguments.get("view_id") or f"V{next(self._views):09d}")
            view["hash"] = f"{int(time.time())}.{uuid.uuid4().hex[:8]}"
            arguments["_view_id"] = view["id"]
            return web.json_response({"ok": True, "view": view})
        if method == "users.info":
            user = str(arguments.get("user", ""))
            name = self.users.get(user, f"user-{user.lower()}")
            return web.json_response({"ok": True, "user": {
                "id": user, "team_id": TEAM_ID, "name": name, "real_name": name,
                "profile": {"real_name": name, "display_name": name}, "is_bot": False,
            }})
        if method == "conversations.history":
            return web.json_response(self._history(arguments))
        return web.json_response({"ok": True})

    def _history(self, arguments: dict) -> dict:
        """Newest first, like Slack; `oldest`/`latest` bound the ts, `limit` the count (no cursor)."""
        messages = list(reversed(self.messages.get(str(arguments.get("channel", "")), [])))
        if arguments.get("oldest"):
            messages = [m for m in messages if float(m["ts"]) >= float(arguments["oldest"])]
        if arguments.get("latest"):
            messages = [m for m in messages if float(m["ts"]) <= float(arguments["latest"])]
        limit = int(arguments.get("limit") or 100)
        with_metadata = str(arguments.get("include_all_metadata", "")).lower() in ("1", "true")
        shown = [m if with_metadata else {k: v for k, v in m.items() if k != "metadata"} for m in messages[:limit]]
        return {"ok": True, "messages": shown, "has_more": len(messages) > limit, "response_metadata": {"next_cursor": ""}}

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else {}
        body["_hook"] = request.match_info["path"]
        self._record(ApiCall("response_url", body))
        return web.Response(text="ok")


# --- Teams' Bot Connector ------------------------------------------------------------------------------

@dataclass
class ConnectorCall:
    method: str  # HTTP method: POST a new message (or a reply), PUT a card update
    path: str
    body: dict
    conversation: str
    answered_id: str = ""
    at: float = field(default_factory=time.monotonic)
    status: int = 200
    failure: str = ""

    @property
    def taken(self) -> bool:
        return not self.failure or self.failure == "hang_after_taking"

    @property
    def card(self) -> dict | None:
        for attachment in self.body.get("attachments") or ():
            if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive":
                return attachment.get("content")
        return None

    @property
    def message_id(self) -> str:
        """The id of the message this call made (the connector's answer) or changed (PUT)."""
        return self.path.rsplit("/", 1)[-1] if self.method == "PUT" else self.answered_id


class TeamsConnector(_Recorder, _LoopbackServer):
    """A recording stand-in for the Bot Connector an activity's serviceUrl names (`service_url`). Calls
    are kept in `calls`; `fail(kind, seconds=...)` as SlackWebApi's (429 with Retry-After, 500, 502, hang)."""

    def __init__(self) -> None:
        _Recorder.__init__(self)
        _LoopbackServer.__init__(self)
        self.failures = _Failures()
        self._ids = itertools.count(1)
        self.app.router.add_route("*", "/_connector/{tail:.*}", self._handle)

    @property
    def service_url(self) -> str:
        return f"{self.url}/_connector"

    def fail(self, kind: str, *, seconds: float, retry_after: int = 1) -> FailureWindow:
        return self.failures.add(kind, seconds=seconds, retry_after=retry_after)

    def messages(self, conversation: str | None = None) -> list[ConnectorCall]:
        return [call for call in self.calls if call.taken and call.body.get("type") == "message"
                and (conversation is None or call.conversation == conversation)]

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else {}
        tail = request.match_info["tail"].split("/")
        conversation = tail[2] if len(tail) > 2 and tail[0] == "v3" and tail[1] == "conversations" else ""
        window = self.failures.current("*")
        answered_id = f"connector-{next(self._ids)}"
        if window is not None and window.kind in ("hang", "hang_after_taking"):
            if window.kind == "hang_after_taking":
                self._record(ConnectorCall(request.method, request.path, body, conversation, answered_id, failure=window.kind))
                await asyncio.sleep(max(0.0, window.until - time.monotonic()))
                return web.json_response({"id": answered_id})
            await asyncio.sleep(max(0.0, window.until - time.monotonic()))
        if window is not None:
            response = _failure_response(window, json_error="ServiceError")
            self._record(ConnectorCall(request.method, request.path, body, conversation, status=response.status, failure=window.kind))
            return response
        self._record(ConnectorCall(request.method, request.path, body, conversation, answered_id))
        return web.json_response({"id": answered_id})


# --- policybot serve, as a subprocess ------------------------------------------------------------------

def settings_names() -> set[str]:
    from bot.config import Settings

    return {name.upper() for name in Settings.model_fields}


def sqlite_url(workdir: Path) -> str:
    return f"sqlite+aiosqlite:///{Path(workdir) / 'data' / 'policybot.db'}"


def base_env(*, workdir: Path, database_url: str, port: int, log_level: str = "WARNING", **settings) -> dict:
    """The environment of a `policybot serve`: none of this machine's settings, the database given, the
    key in `workdir` (shared by replicas), the policy's derived rules in POLICY_CACHE, notifications sent at once. `settings`
    are more settings by name (`headteacher_name="..."` → HEADTEACHER_NAME)."""
    names = settings_names()
    env = {key: value for key, value in os.environ.items() if key.upper() not in names}
    env.update({
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "DATABASE_URL": database_url,
        "ENCRYPTION_KEY_FILE": str(Path(workdir) / "data" / "encryption.key"),
        "POLICY_CACHE_DIR": str(POLICY_CACHE),
        "PORT": str(port),
        "LOG_LEVEL": log_level,
        "NOTIFY_JITTER_SECONDS": "0",
        "HEADTEACHER_NAME": HEADTEACHER_NAME,
    })
    env.update({key.upper(): str(value) for key, value in settings.items()})
    return env


def slack_env(*, workdir: Path, database_url: str, api: SlackWebApi, port: int | None = None, **settings) -> dict:
    """A Slack (HTTP mode) server whose Web API is `api`."""
    return base_env(workdir=workdir, database_url=database_url, port=port or free_port(),
                    slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET, slack_api_url=api.api_url, **settings)


def teams_env(*, workdir: Path, database_url: str, port: int | None = None, **settings) -> dict:
    """A Teams server in local mode (no credentials: no token checked); replies go to the serviceUrl of
    each activity, so to a TeamsConnector when the activities name it."""
    return base_env(workdir=workdir, database_url=database_url, port=port or free_port(), **settings)


def _rss_now_mb(pid: int) -> float:
    try:
        import psutil

        return psutil.Process(pid).memory_info().rss / 1024**2
    except ImportError:
        pass
    except Exception:
        return 0.0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _rss_peak_mb(pid: int) -> float:
    """The kernel's high-water mark, where there is one (Linux)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class BotServer:
    """`python -m bot serve --no-emulator` in `workdir` with `env`; output (stdout and stderr of every
    run) appended to `log_path`. `start()` returns once GET /healthz answers; `kill()` is SIGKILL;
    `start()` again restarts on the same port and database. `peak_rss_mb` is the highest RSS seen over
    every run (sampled, and the kernel's high-water mark)."""

    def __init__(self, *, env: dict, workdir: Path, name: str = "bot") -> None:
        self.env = dict(env)
        self.workdir = Path(workdir)
        self.name = name
        self.port = int(self.env["PORT"])
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.log_path = self.workdir / f"{name}.log"
        self.process: subprocess.Popen | None = None
        self.peak_rss_mb = 0.0
        self.starts = 0
        self._sampler: asyncio.Task | None = None

    @property
    def slack_url(self) -> str:
        return f"{self.url}/slack/events"

    @property
    def teams_url(self) -> str:
        return f"{self.url}/api/messages"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    async def start(self, *, timeout: float = READY_TIMEOUT_S) -> None:
        if self.running:
            raise RuntimeError(f"{self.name} is already running")
        (self.workdir / "data").mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            log.write(f"--- start {self.starts + 1}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [os.environ.get("POLICYBOT_SOAK_PYTHON", _python()), "-m", "bot", "--no-emulator"],
                cwd=self.workdir, env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
        self.starts += 1
        deadline = time.monotonic() + timeout
        async with ClientSession(timeout=ClientTimeout(total=2)) as session:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with status {self.process.returncode} before it was ready:\n"
                                       + self.log_text()[-3000:])
                with contextlib.suppress(OSError, asyncio.TimeoutError):
                    async with session.get(f"{self.url}/healthz") as response:
                        if response.status == 200:
                            break
                if time.monotonic() > deadline:
                    self.kill()
                    raise RuntimeError(f"{self.name} was not ready within {timeout:.0f} s:\n" + self.log_text()[-3000:])
                await asyncio.sleep(0.05)
        self._sampler = asyncio.create_task(self._sample(self.process.pid))

    async def _sample(self, pid: int) -> None:
        while True:
            self.peak_rss_mb = max(self.peak_rss_mb, _rss_now_mb(pid), _rss_peak_mb(pid))
            await asyncio.sleep(0.2)

    def _read_peak(self) -> None:
        if self.running:
            self.peak_rss_mb = max(self.peak_rss_mb, _rss_now_mb(self.process.pid), _rss_peak_mb(self.process.pid))
        if self._sampler is not None:
            self._sampler.cancel()
            self._sampler = None

    def kill(self) -> None:
        """SIGKILL, as a crash would: nothing is flushed or closed."""
        self._read_peak()
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(STOP_TIMEOUT_S)

    async def stop(self) -> None:
        """SIGTERM (the server's own clean stop), SIGKILL if it takes longer than STOP_TIMEOUT_S."""
        self._read_peak()
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(self.process.wait, STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    async def __aenter__(self) -> "BotServer":
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()


def _python() -> str:
    import sys

    return sys.executable


async def run_cli(*args: str, env: dict, workdir: Path, timeout: float = 60.0) -> str:
    """`policybot ARGS…` with a server's environment (e.g. `roles assign headteacher --platform slack
    --user U0HEAD --name "Mrs Patel"`); its output. Raises RuntimeError when it fails."""
    process = await asyncio.create_subprocess_exec(
        _python(), "-m", "bot.cli", *args,
        cwd=workdir, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout)
    except asyncio.TimeoutError:
        process.kill()
        await process.wait()
        raise RuntimeError(f"policybot {' '.join(args[:2])} did not finish within {timeout:.0f} s") from None
    if process.returncode != 0:
        raise RuntimeError(f"policybot {' '.join(args[:2])} failed ({process.returncode}): {output.decode()[-2000:]}")
    return output.decode()


async def assign_role(*, env: dict, workdir: Path, role: str, platform: str, user_id: str, name: str = "") -> None:
    await run_cli("roles", "assign", role, "--platform", platform, "--user", user_id, *(("--name", name) if name else ()),
                  env=env, workdir=workdir)


# --- Playing Slack and Teams ---------------------------------------------------------------------------

def slack_signature(*, body: str, timestamp: str, secret: str = SIGNING_SECRET) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class SlackPlayer:
    """Posts to a server's /slack/events as Slack does: signed (`headers` adds X-Slack-Retry-Num and such)."""

    def __init__(self, *, session: ClientSession, url: str, secret: str = SIGNING_SECRET) -> None:
        self.session = session
        self.url = url
        self.secret = secret

    async def post(self, body: str, *, content_type: str, headers: dict | None = None, timestamp: int | None = None,
                   url: str | None = None) -> tuple[int, str]:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        sent = {"Content-Type": content_type, "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": slack_signature(body=body, timestamp=stamp, secret=self.secret), **(headers or {})}
        async with self.session.post(url or self.url, data=body.encode("utf-8"), headers=sent,
                                     timeout=ClientTimeout(total=REQUEST_TIMEOUT_S)) as response:
            return response.status, await response.text()

    async def event(self, payload: dict, **options) -> tuple[int, str]:
        return await self.post(json.dumps(payload), content_type="application/json", **options)

    async def interaction(self, payload: dict, **options) -> tuple[int, str]:
        return await self.post(urlencode({"payload": json.dumps(payload)}), content_type="application/x-www-form-urlencoded", **options)

    async def command(self, fields: dict, **options) -> tuple[int, str]:
        return await self.post(urlencode(fields), content_type="application/x-www-form-urlencoded", **options)


def dm_event(*, user: str, channel: str, text: str, event_id: str | None = None, ts: str | None = None) -> dict:
    """A `message.im` event_callback: `user` wrote `text` in their DM `channel` with the bot."""
    ts = ts or f"{int(time.time())}.{uuid.uuid4().int % 1_000_000:06d}"
    return {
        "token": "soak", "team_id": TEAM_ID, "api_app_id": "A0POLICYBOT",
        "event": {"type": "message", "user": user, "text": text, "ts": ts, "event_ts": ts, "channel": channel,
                  "channel_type": "im", "team": TEAM_ID},
        "type": "event_callback", "event_id": event_id or f"Ev{uuid.uuid4().hex[:12].upper()}", "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True, "is_enterprise_install": False}],
    }


def buttons_in(blocks: list[dict]) -> dict[str, dict]:
    """action_id → button element of a Block Kit message or view as the bot rendered it."""
    return {element["action_id"]: element for block in blocks or () if block.get("type") == "actions"
            for element in block.get("elements", ()) if "action_id" in element}


def block_actions(*, user: str, username: str, channel: str, message: dict, button: dict, response_url: str,
                  trigger_id: str | None = None) -> dict:
    """A click on `button` (as rendered, value untouched) of the bot's `message` (chat.postMessage or
    chat.postEphemeral arguments, with `_ts`) in `channel`. As Slack does, a click on an ephemeral
    message carries no `message`."""
    payload = fixture("slack/block_actions.json")
    ts = message.get("_ts") or message.get("ts")
    ephemeral = bool(message.get("_ephemeral"))
    payload["user"] = {"id": user, "username": username, "name": username, "team_id": TEAM_ID}
    payload["team"] = {"id": TEAM_ID, "domain": "soak"}
    payload["container"].update(message_ts=ts, channel_id=channel, is_ephemeral=ephemeral)
    payload["channel"] = {"id": channel, "name": "directmessage"}
    if ephemeral:
        del payload["message"]
    else:
        payload["message"].update(ts=ts, text=message.get("text", ""), blocks=message.get("blocks") or [], team=TEAM_ID)
    payload["response_url"] = response_url
    payload["trigger_id"] = trigger_id or f"{int(time.time())}.{uuid.uuid4().int % 10**10}.{uuid.uuid4().hex}"
    payload["actions"][0].update(action_id=button["action_id"], value=button.get("value", ""), text=button["text"],
                                 action_ts=f"{time.time():.6f}")
    return payload


def state_values_for(view: dict, answers: dict) -> dict:
    """view.state.values as Slack sends them for the modal `view`, filled with `answers` (block id → text,
    a choice's value, True/False for a checkbox, a list of files, a user id for a people picker)."""
    values: dict = {}
    for block in view.get("blocks", ()):
        if block.get("type") != "input":
            continue
        element = block["element"]
        answer = answers.get(block["block_id"])
        kind = element["type"]
        if kind == "plain_text_input":
            state = {"type": kind, "value": answer if answer not in (None, "") else None}
        elif kind in ("static_select", "radio_buttons"):
            chosen = next((option for option in element.get("options", ()) if option["value"] == answer), None)
            state = {"type": kind, "selected_option": chosen}
        elif kind == "checkboxes":
            state = {"type": kind, "selected_options": list(element.get("options", ())) if answer else []}
        elif kind == "file_input":
            state = {"type": kind, "files": list(answer or [])}
        elif kind in ("users_select", "external_select"):
            state = {"type": kind, "selected_user": answer or None}
        else:
            state = {"type": kind}
        values[block["block_id"]] = {element["action_id"]: state}
    return values


def field_ids(view: dict) -> dict[str, str]:
    """label → block id of a modal's inputs."""
    return {block["label"]["text"]: block["block_id"] for block in view.get("blocks", ()) if block.get("type") == "input"}


def view_submission(*, view: dict, answers: dict, user: str, username: str, trigger_id: str | None = None) -> dict:
    """The view_submission of the modal `view` as the bot opened it (views.open arguments' view, with
    its `_view_id`), filled with `answers`."""
    payload = fixture("slack/view_submission_report.json")
    payload["trigger_id"] = trigger_id or f"{int(time.time())}.{uuid.uuid4().int % 10**10}.{uuid.uuid4().hex}"
    payload["user"] = {"id": user, "username": username, "name": username, "team_id": TEAM_ID}
    payload["team"] = {"id": TEAM_ID, "domain": "soak"}
    payload["view"].update(
        id=view.get("id") or view.get("_view_id") or payload["view"]["id"],
        callback_id=view.get("callback_id", ""), private_metadata=view.get("private_metadata", ""),
        blocks=view.get("blocks", []), title=view.get("title", payload["view"]["title"]),
        state={"values": state_values_for(view, answers)}, hash=f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
    )
    return payload


def teams_activity(*, service_url: str, user: str, conversation: str, text: str = "", activity_id: str | None = None,
                   value: dict | None = None, reply_to: str | None = None, name: str = "Soak Teacher",
                   aad_id: str = "", tenant: str = "soak-tenant") -> dict:
    """A message in a personal chat (`text`) or an Action.Submit click (`value`, on the card `reply_to`)."""
    activity = {
        "type": "message", "id": activity_id or uuid.uuid4().hex, "channelId": "msteams", "serviceUrl": service_url,
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "from": {"id": user, "name": name, **({"aadObjectId": aad_id} if aad_id else {})},
        "conversation": {"id": conversation, "conversationType": "personal", "tenantId": tenant},
        "recipient": {"id": "28:soak-bot", "name": "policybot"},
        "channelData": {"tenant": {"id": tenant}}, "locale": "en-GB",
    }
    if value is not None:
        activity["value"] = value
        if reply_to:
            activity["replyToId"] = reply_to
    else:
        activity.update(text=text, textFormat="plain")
    return activity


def card_actions(card: dict | None) -> dict[str, dict]:
    """title → action of an Adaptive Card as the bot rendered it (its data untouched)."""
    found: dict[str, dict] = {}

    def walk(items) -> None:
        for item in items or ():
            if item.get("type", "").startswith("Action."):
                found[item.get("title", "")] = item
            walk(item.get("actions"))
            walk(item.get("items"))
            walk(item.get("columns"))

    if card:
        walk(card.get("body"))
        walk(card.get("actions"))
    return found


def card_form_values(card: dict, **typed) -> dict:
    """What Teams sends for a form card's submit button: its data and every input's value."""
    submit = next(action for action in card.get("actions", ()) if isinstance(action.get("data"), dict) and "form_id" in action["data"])
    values = {item["id"]: item.get("value", "") for item in card.get("body", ()) if item.get("type", "").startswith("Input.")}
    return {**submit["data"], **values, **typed}


class TeamsPlayer:
    """Posts activities to a server's /api/messages (local mode: no token)."""

    def __init__(self, *, session: ClientSession, url: str) -> None:
        self.session = session
        self.url = url

    async def send(self, activity: dict, *, headers: dict | None = None) -> int:
        async with self.session.post(self.url, json=activity, headers=headers,
                                     timeout=ClientTimeout(total=REQUEST_TIMEOUT_S)) as response:
            await response.read()
            return response.status


# --- PostgreSQL ----------------------------------------------------------------------------------------

def postgres_bin_dir() -> Path | None:
    """Where initdb and pg_ctl are (PATH, else Debian's /usr/lib/postgresql/<version>/bin), or None."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    for candidate in reversed(candidates):
        if (candidate / "initdb").exists():
            return candidate
    return None


class PostgresCluster:
    """A throwaway cluster on loopback (as `.ci/run` starts one): `await PostgresCluster.start()`, its
    `server_url`, `restart(down_seconds=...)` (stopped for a while under load), `close()`."""

    def __init__(self, *, bin_dir: Path, directory: Path, port: int, run_as: str | None) -> None:
        self.bin_dir = bin_dir
        self.directory = directory
        self.port = port
        self.run_as = run_as
        self.server_url = f"postgresql+asyncpg://policybot@{LOOPBACK}:{port}/postgres"

    @classmethod
    async def start(cls) -> "PostgresCluster | None":
        """A running cluster, or None when no PostgreSQL server is installed."""
        bin_dir = postgres_bin_dir()
        if bin_dir is None:
            return None
        run_as = None
        if os.geteuid() == 0:
            run_as = "postgres" if _user_exists("postgres") else "nobody"
        directory = Path(tempfile.mkdtemp(prefix="policybot-soak-pg-"))
        os.chmod(directory, 0o700)
        if run_as:
            shutil.chown(directory, user=run_as)
        cluster = cls(bin_dir=bin_dir, directory=directory, port=free_port(), run_as=run_as)
        await cluster._run("initdb", "-D", str(directory / "data"), "-U", "policybot", "--auth=trust", "-E", "UTF8", "--no-sync")
        await cluster.start_server()
        return cluster

    def _command(self, program: str, *args: str) -> list[str]:
        command = [str(self.bin_dir / program), *args]
        return ["runuser", "-u", self.run_as, "--", *command] if self.run_as else command

    async def _run(self, program: str, *args: str, timeout: float = 90.0) -> None:
        process = await asyncio.create_subprocess_exec(*self._command(program, *args), stdout=asyncio.subprocess.PIPE,
                                                       stderr=asyncio.subprocess.STDOUT, cwd=self.directory)
        try:
            output, _ = await asyncio.wait_for(process.communicate(), timeout)
        except asyncio.TimeoutError:
            process.kill()
            await process.wait()
            raise RuntimeError(f"{program} did not finish within {timeout:.0f} s") from None
        if process.returncode != 0:
            raise RuntimeError(f"{program} failed: {output.decode()[-2000:]}")

    async def start_server(self) -> None:
        options = (f"-h {LOOPBACK} -p {self.port} -k {self.directory} -c fsync=off -c synchronous_commit=off "
                   "-c full_page_writes=off -c max_connections=200")
        await self._run("pg_ctl", "-D", str(self.directory / "data"), "-l", str(self.directory / "server.log"),
                        "-w", "-t", "60", "-o", options, "start")

    async def stop_server(self, *, mode: str = "immediate") -> None:
        await self._run("pg_ctl", "-D", str(self.directory / "data"), "-m", mode, "-w", "stop")

    async def restart(self, *, down_seconds: float = 2.0) -> None:
        """Stopped at once (as a crash), started again after `down_seconds`."""
        await self.stop_server()
        await asyncio.sleep(down_seconds)
        await self.start_server()

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            if (self.directory / "data" / "postmaster.pid").exists():
                await self.stop_server()
        shutil.rmtree(self.directory, ignore_errors=True)


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _libpq_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


async def _admin(server_url: str, sql: str) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(server_url)
    connection = await asyncpg.connect(host=url.host, port=url.port, user=url.username, password=url.password,
                                       database=url.database or "postgres", timeout=10)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def create_database(server_url: str, *, prefix: str = "policybot_soak") -> str:
    """A fresh, empty database on the server; its URL (drop it with drop_database)."""
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    await _admin(server_url, f'CREATE DATABASE "{name}"')
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def drop_database(database_url: str) -> None:
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    with contextlib.suppress(Exception):
        await _admin(url.set(database="postgres").render_as_string(hide_password=False),
                     f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


def pg_dump_program() -> str | None:
    bin_dir = postgres_bin_dir()
    if bin_dir is not None and (bin_dir / "pg_dump").exists():
        return str(bin_dir / "pg_dump")
    return shutil.which("pg_dump")


async def pg_dump(database_url: str, *, timeout: float = 60.0) -> bytes:
    """A plain-SQL dump of the database (every row, as text). Raises RuntimeError without pg_dump."""
    program = pg_dump_program()
    if program is None:
        raise RuntimeError("pg_dump is not installed")
    process = await asyncio.create_subprocess_exec(program, "--no-owner", "--data-only", _libpq_url(database_url),
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        output, errors = await asyncio.wait_for(process.communicate(), timeout)
    except asyncio.TimeoutError:
        process.kill()
        await process.wait()
        raise RuntimeError("pg_dump did not finish in time") from None
    if process.returncode != 0:
        raise RuntimeError(f"pg_dump failed: {errors.decode()[-1000:]}")
    return output


def sqlite_bytes(database_url: str) -> bytes:
    """The SQLite file and its journal (WAL) as they are on disk."""
    path = Path(database_url.split("///", 1)[1])
    return b"".join(candidate.read_bytes() for candidate in sorted(path.parent.glob(path.name + "*")) if candidate.is_file())


async def database_bytes(database_url: str) -> bytes:
    """Everything stored: the SQLite files' raw bytes, or a PostgreSQL dump."""
    if database_url.startswith("sqlite"):
        return sqlite_bytes(database_url)
    return await pg_dump(database_url)


async def count_rows(database_url: str, table: str, *, where: str = "") -> int:
    """SELECT count(*) from a table of the bot's database (read from outside the bot)."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            result = await connection.execute(text(f"SELECT count(*) FROM {table}" + (f" WHERE {where}" if where else "")))
            return int(result.scalar_one())
    finally:
        await engine.dispose()


async def query(database_url: str, sql: str) -> list[tuple]:
    """Rows of a read-only query on the bot's database."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            return [tuple(row) for row in (await connection.execute(text(sql))).all()]
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def slack_replicas(*, server_url: str, api: SlackWebApi, workdir: Path, count: int = 2, **settings):
    """`count` Slack servers sharing one fresh PostgreSQL database (and one key file) on `server_url`;
    yields (servers, database_url). Stopped and the database dropped afterwards."""
    database_url = await create_database(server_url)
    servers = [
        BotServer(env=slack_env(workdir=workdir, database_url=database_url, api=api, **settings), workdir=workdir, name=f"replica-{number}")
        for number in range(1, count + 1)
    ]
    try:
        # One at a time: the first creates the schema.
        for server in servers:
            await server.start()
        yield servers, database_url
    finally:
        for server in servers:
            await server.stop()
        await drop_database(database_url)
