"""One aiohttp server for every platform that is configured: `GET /healthz`, Teams at `POST /api/messages`,
Slack's routes (or its Socket Mode connection), on PORT (3978 by default).

Local mode, when neither Slack nor Teams has credentials: the Teams endpoint alone, on 127.0.0.1 with
authentication off, and Microsoft's Teams emulator pointed at it, so the bot can be tried in a browser
with the bundled policy and SQLite and nothing to register anywhere.

Alongside the routes runs the outbox worker: it sends what the flows queued (a question for the
headteacher) through each configured platform, polling every few seconds and woken at once by a click;
and the reminders, with the daily purge of what is kept no longer (`storage.repository.retention`).

Every request body is capped by where it goes, at what that platform really sends, and refused before it
is read when it says it is larger; the bodies held at once are bounded too (`BodyLimits`).

Platform SDKs load here only for the platforms in use.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from dataclasses import dataclass

from aiohttp import web

from bot.config import Settings

log = logging.getLogger(__name__)

LOCAL_HOST = "127.0.0.1"
# How often the outbox worker looks for due notifications (retries included) when nothing woke it.
OUTBOX_POLL_SECONDS = 3.0
# How often deadlines are checked: a removal's is to the hour, so a reminder is at most this late.
REMINDER_INTERVAL_SECONDS = 300.0
# How often expired data is purged: event digests go after a week, so once a day is ample.
PURGE_INTERVAL_SECONDS = 24 * 3600.0

# The largest body each platform sends; anything larger is refused (413) before it is read.
# Teams: the Bot Connector itself refuses activities over 262 144 bytes (MessageSizeTooBig).
TEAMS_MAX_BODY_BYTES = 256 * 1024
# Slack: a message is at most 40 000 characters, and its event carries it twice (text and rich-text
# blocks), up to 4 bytes a character; a modal's submission (a few 3 000-character fields) is smaller.
SLACK_MAX_BODY_BYTES = 384 * 1024
# GET /healthz and unknown paths have no use for a body.
OTHER_MAX_BODY_BYTES = 1024
BODY_CAPS = (("/api/", TEAMS_MAX_BODY_BYTES), ("/slack/", SLACK_MAX_BODY_BYTES))
# Bodies held at once, counted as they are announced. Handling one takes some 50 times its size (parsed,
# then the SDK's models; 13 MB for a 250 KB activity of many entities): this keeps hostile load to about
# 110 MB above the bot's own, while real requests, a few KB each, fit by the hundred.
BODY_BYTES_IN_HAND = 2 * 1024 * 1024
# How long a request waits for room before it is answered 503 (Slack and Teams send it again later).
BODY_WAIT_SECONDS = 1.0
# A body must arrive within this, so a client trickling one in holds its share of the bound no longer.
BODY_READ_SECONDS = 10.0


class ConfigurationError(Exception):
    """Settings that cannot work. The message is one line for the person starting the bot."""


@dataclass(frozen=True)
class ServerPlan:
    """What one server runs, decided from the settings alone."""

    local_mode: bool
    teams: bool
    slack: bool
    host: str
    port: int

    @property
    def platforms(self) -> list[str]:
        return [name for name, on in (("teams", self.teams), ("slack", self.slack)) if on]


def plan_server(settings: Settings) -> ServerPlan:
    teams_settings_given = bool(settings.microsoft_app_id or settings.microsoft_app_password)
    slack_settings_given = bool(settings.slack_bot_token or settings.slack_signing_secret or settings.slack_app_token)
    if slack_settings_given and not settings.slack_configured:
        raise ConfigurationError(
            "Slack needs SLACK_BOT_TOKEN with SLACK_SIGNING_SECRET (HTTP) or SLACK_APP_TOKEN (Socket Mode); see .env.example"
        )
    local_mode = not (settings.slack_configured or teams_settings_given)
    if local_mode and settings.environment == "production":
        raise ConfigurationError("ENVIRONMENT=production needs Slack or Teams credentials (see .env.example)")
    return ServerPlan(
        local_mode=local_mode,
        # Teams is mounted whenever any Teams setting is given, so that half a configuration is an error,
        # not a silently missing endpoint.
        teams=local_mode or teams_settings_given,
        slack=settings.slack_configured,
        host=LOCAL_HOST if local_mode else settings.host,
        port=settings.port,
    )


async def _healthz(request: web.Request) -> web.Response:
    plan: ServerPlan = request.app[PLAN_KEY]
    return web.json_response({"status": "ok", "platforms": plan.platforms, "local_mode": plan.local_mode})


PLAN_KEY = web.AppKey("policybot_plan", ServerPlan)
SLACK_KEY = web.AppKey("policybot_slack", object)


def body_cap(path: str) -> int:
    return next((cap for prefix, cap in BODY_CAPS if path.startswith(prefix)), OTHER_MAX_BODY_BYTES)


class BodyLimits:
    """Middleware for every route, the Teams sub-application's included: a body larger than its route's
    cap is refused (413), by its Content-Length before a byte of it is read, or as soon as it passes the cap
    when it comes in chunks; while `in_hand_bytes` of bodies are being read and handled, more wait up to
    `wait_seconds` for room and are then answered 503. The body is read here, within `read_seconds`, and
    handed on in the request."""

    def __init__(
        self,
        *,
        in_hand_bytes: int = BODY_BYTES_IN_HAND,
        wait_seconds: float = BODY_WAIT_SECONDS,
        read_seconds: float = BODY_READ_SECONDS,
    ) -> None:
        self.in_hand_bytes = in_hand_bytes
        self.wait_seconds = wait_seconds
        self.read_seconds = read_seconds
        self.held = 0
        self._room = asyncio.Condition()

    @web.middleware
    async def middleware(self, request: web.Request, handler) -> web.StreamResponse:
        if not request.body_exists:
            return await handler(request)
        cap = body_cap(request.path)
        announced = request.content_length
        if announced is not None and announced > cap:
            return web.Response(status=413, text=f"the body is larger than {cap} bytes")
        share = cap if announced is None else announced
        async with self._room:
            try:
                async with asyncio.timeout(self.wait_seconds):
                    await self._room.wait_for(lambda: self.held + share <= self.in_hand_bytes)
            except TimeoutError:
                return web.Response(status=503, text="busy; try again in a moment", headers={"Retry-After": "1"})
            self.held += share
        try:
            capped = request.clone(client_max_size=cap)
            try:
                async with asyncio.timeout(self.read_seconds):
                    await capped.read()  # kept by the request: the handler reads it from there
            except web.HTTPRequestEntityTooLarge:
                return web.Response(status=413, text=f"the body is larger than {cap} bytes")
            except TimeoutError:
                return web.Response(status=408, text="the body did not arrive in time")
            return await handler(capped)
        finally:
            async with self._room:
                self.held -= share
                self._room.notify_all()


BODY_LIMITS_KEY = web.AppKey("policybot_body_limits", BodyLimits)


def build_app(*, settings: Settings, core, plan: ServerPlan | None = None) -> web.Application:
    """The aiohttp application with the routes of every configured platform. Slack's Socket Mode, which
    is not a route, is started by `serve`."""
    plan = plan or plan_server(settings)
    limits = BodyLimits()
    app = web.Application(middlewares=[limits.middleware])
    app[PLAN_KEY] = plan
    app[BODY_LIMITS_KEY] = limits
    app.router.add_get("/healthz", _healthz)
    if plan.teams:
        from bot.teams import mount_teams
        from bot.teams.connection import TeamsSettingsError

        try:
            mount_teams(app, settings=settings, core=core)
        except TeamsSettingsError as error:
            raise ConfigurationError(str(error)) from None
    if plan.slack:
        from bot.slack import build_slack_app  # documented at the top of bot/slack/__init__.py

        slack = build_slack_app(settings=settings, core=core)
        if settings.slack_signing_secret:
            slack.add_routes(app)
        app[SLACK_KEY] = slack

        async def close_slack(_app: web.Application) -> None:
            await slack.close()

        app.on_cleanup.append(close_slack)
    return app


class OutboxWorker:
    """The outbox dispatcher as a background task, with one sender for each platform this server runs."""

    def __init__(self, *, settings: Settings, core, plan: ServerPlan, poll_seconds: float = OUTBOX_POLL_SECONDS) -> None:
        from storage.delivery import OutboxDispatcher

        self.senders: dict = {}
        if plan.slack:
            from bot.slack.notify import SlackNotifier

            self.senders["slack"] = SlackNotifier(settings=settings)
        if plan.teams:
            from bot.teams.notify import TeamsNotifier

            self.senders["teams"] = TeamsNotifier(settings=settings, references=core.conversation_reference)
        self._core = core
        self.dispatcher = OutboxDispatcher(db=core.database, send=self._send, idle_seconds=poll_seconds)
        self._task: asyncio.Task | None = None

    async def _send(self, notification) -> None:
        await self._core.deliver(notification, senders=self.senders)

    def start(self) -> None:
        self._task = asyncio.create_task(self.dispatcher.run_forever(), name="policybot-outbox")
        self._core.wake_outbox = self.dispatcher.wake

    async def stop(self) -> None:
        self._core.wake_outbox = None
        task, self._task = self._task, None
        # A delivery cut short here is not confirmed: its lease runs out and it is sent again. Cancelled
        # until it ends: on Python 3.11 asyncio.wait_for (around each send) loses a cancellation that
        # arrives as the send finishes.
        while task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=0.1)
        if task is not None and not task.cancelled() and task.exception() is not None:
            log.error("the outbox worker had stopped with an error", exc_info=task.exception())
        for sender in self.senders.values():
            with contextlib.suppress(Exception):
                await sender.close()


async def serve(settings: Settings, *, with_emulator: bool = True, stop: asyncio.Event | None = None) -> None:
    """Run until `stop` is set (or SIGINT/SIGTERM). Raises ConfigurationError and the start-up errors of
    the policy and the database, each with a one-line message."""
    plan = plan_server(settings)
    from handlers.core import ConversationCore

    core = await ConversationCore.start(settings=settings)
    runner = None
    stoppables: list = []
    try:
        app = build_app(settings=settings, core=core, plan=plan)
        # No access log: it would keep IP addresses and the times people wrote to the bot.
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, plan.host, plan.port)
        try:
            await site.start()
        except OSError as error:
            raise ConfigurationError(f"cannot listen on {plan.host}:{plan.port} ({error.strerror}); set PORT to a free port") from None
        outbox = OutboxWorker(settings=settings, core=core, plan=plan)
        stoppables.append(outbox)
        outbox.start()
        reminders = Reminders(core=core, retention_days=settings.retention_days)
        stoppables.append(reminders)
        reminders.start()
        if plan.slack and settings.slack_app_token:
            # Socket Mode: Slack connects out from here, so no public URL is needed (closed on cleanup).
            from bot.slack.app import SlackSettingsError

            try:
                await app[SLACK_KEY].start_socket_mode()
            except SlackSettingsError as error:
                raise ConfigurationError(str(error)) from None
        address = f"http://{plan.host}:{plan.port}"
        _say(f"policybot is listening on {address} ({', '.join(plan.platforms)}); GET {address}/healthz")
        from bot.advisor_commands import rules_line

        _say(rules_line(core.advisor))
        from bot import local_mode

        if not plan.local_mode:
            await local_mode.take_back(core.database)
        else:
            from bot.teams.emulator import EMULATOR_USER_ID

            if await local_mode.lend_headteacher(core.database, platform="teams", user_id=EMULATOR_USER_ID):
                stoppables.append(_LentRole(core.database, user_id=EMULATOR_USER_ID))
                _say(
                    "No roles are set, so for this session you (the emulator's user) are the headteacher: questions, "
                    "removal requests and reports come to you, and you decide them. Type \"dashboard\" to see what waits. "
                    "Roles set with `policybot roles assign` end this."
                )
        for line in await missing_roles_lines(core.database):
            _say(line)
        if plan.local_mode:
            _say("Local mode: no Slack or Teams credentials, so Teams requests are not authenticated; the bot answers on this machine only.")
            if with_emulator:
                emulator = await _start_emulator(settings=settings, port=plan.port)
                if emulator is not None:
                    stoppables.append(emulator)
        stop = stop or asyncio.Event()
        _stop_on_signals(stop)
        await stop.wait()
    finally:
        for stoppable in reversed(stoppables):
            with contextlib.suppress(Exception):
                await stoppable.stop()
        if runner is not None:
            await runner.cleanup()
        await core.close()


class Reminders:
    """Queues the reminders once at start and then every `interval_seconds`: report deadlines (acknowledge
    within 7 days, feedback within 3 months), questions unanswered after two school days, removals not
    confirmed by their deadline. Each reminder is sent once, so restarts repeat nothing.

    Also purges, at start and then every `purge_interval_seconds`, what `policybot purge` does (cases closed
    more than `retention_days` ago, event digests after a week, the conversation references of people
    silent for a year): a running server keeps its own retention schedule."""

    def __init__(
        self,
        *,
        core,
        retention_days: int,
        interval_seconds: float = REMINDER_INTERVAL_SECONDS,
        purge_interval_seconds: float = PURGE_INTERVAL_SECONDS,
    ) -> None:
        self._core = core
        self._retention_days = retention_days
        self._interval = interval_seconds
        self._purge_interval = purge_interval_seconds
        self._task: asyncio.Task | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        purged_at: float | None = None
        while True:
            try:
                await self._core.send_reminders()
            except Exception:
                log.exception("could not check the deadlines; trying again later")
            if purged_at is None or loop.time() - purged_at >= self._purge_interval:
                try:
                    await self._purge()
                    purged_at = loop.time()
                except Exception:
                    log.exception("could not purge expired data; trying again later")
            await asyncio.sleep(self._interval)

    async def _purge(self) -> None:
        from storage import repository as repo

        database = self._core.database
        async with database.transaction() as session:
            await repo.purge_expired(session=session, retention_days=self._retention_days)
        await database.empty_write_ahead_log()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="policybot-reminders")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None


class _LentRole:
    """Takes the headteacher's role lent to the emulator's user back when the server stops."""

    def __init__(self, database, *, user_id: str) -> None:
        self._database = database
        self._user_id = user_id

    async def stop(self) -> None:
        from bot import local_mode

        await local_mode.take_back(self._database, platform="teams", user_id=self._user_id)


async def missing_roles_lines(database) -> list[str]:
    """One line for each role reports go to that nobody holds: reports wait for it until someone does."""
    from storage import repository as repo

    async with database.transaction() as session:
        held = {holder.role for holder in await repo.list_role_holders(session=session)}
    return [
        f"No {role.replace('_', ' ')} is set up: reports for them are kept until one is "
        f"(policybot roles assign {role} --platform slack|teams --user ID)."
        for role in repo.REPORT_ROLES
        if role not in held
    ]


async def _start_emulator(*, settings: Settings, port: int):
    from bot.teams.emulator import Emulator, EmulatorUnavailable

    endpoint = f"http://{LOCAL_HOST}:{port}/api/messages"
    try:
        emulator = await Emulator.start(endpoint=endpoint, port=settings.teams_emulator_port)
    except EmulatorUnavailable as reason:
        _say(f"Not starting the Teams emulator: {reason}. The bot still answers at {endpoint}.")
        return None
    _say(f"Teams emulator ready: open {emulator.url} in your browser to chat with policybot. Press Ctrl+C to stop.")
    # Microsoft's emulator has no option to listen on loopback only: say so rather than imply it.
    _say("Note: the emulator itself listens on every network interface of this machine while it runs.")
    return emulator


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)


def _say(line: str) -> None:
    print(line, flush=True)


def startup_errors() -> tuple[type[BaseException], ...]:
    """Errors that mean "fix the configuration", each printed as one line with exit status 2."""
    from policy_kb.errors import PolicyLoadError
    from storage.errors import DatabaseOpenError

    return (ConfigurationError, PolicyLoadError, DatabaseOpenError)


# Libraries that log what passes through them at DEBUG or INFO: SQL parameters and rows (user, conversation
# and tenant ids; a report's ciphertext), HTTP bodies, activities. Never below WARNING, whatever LOG_LEVEL.
QUIET_LOGGERS = ("alembic", "microsoft_agents", "aiosqlite", "asyncpg", "sqlalchemy", "aiohttp.client", "msal", "urllib3")


def quiet_libraries() -> None:
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger(name).level))


def run(settings: Settings, *, with_emulator: bool = True) -> int:
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_libraries()
    from storage.database import upgrade_in_child_process

    try:
        asyncio.run(upgrade_in_child_process(database_url=settings.database_url))
        asyncio.run(serve(settings, with_emulator=with_emulator))
    except startup_errors() as error:
        print(f"policybot: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0
