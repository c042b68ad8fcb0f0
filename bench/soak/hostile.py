"""Hostile input and authorisation.

Hostile input, each request carrying a marker string of its own in its body:
- Slack (a real `policybot serve` at DEBUG): a forged signature, a stale one (a timestamp 6 minutes old,
  correctly signed), an altered body, no signature, a body over the cap, malformed signed JSON, a signed
  JSON value that is not a Slack payload;
- Teams, in this process (a server with MICROSOFT_APP_ID would fetch Microsoft's signing keys from the
  internet): the real aiohttp app with its key sets pointed at a loopback JWKS server, and tokens that are
  missing, garbage, `alg=none`, self-signed, expired, or name an unknown key id; a body over the cap.
Each must be refused (400/401/403/413) before it is parsed: no row stored in any table, and the marker
nowhere in the log. A genuine request is sent too, to show the refusals are not the server refusing all.

Authorisation (Slack, SQLite): the headteacher's decision button sent by someone else, the decision form
submitted by someone else, the asker's "Ask the headteacher" button pressed by someone else, the approval
of a removal request by someone else, and a click on a report's card by the person the report is about
(the headteacher, for a report routed to the chair of governors): each refused, nothing decided. The
genuine click is made afterwards and must work.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from unittest import mock

from aiohttp import ClientSession, ClientTimeout, web

from bench.soak import servers as s
from bench.soak.kills import HEADTEACHER, HEADTEACHER_USERNAME, SlackStage
from bench.soak.table import Row, SoakContext, skipped

REFUSED_STATUSES = frozenset({400, 401, 403, 413})
# Well over what either platform sends (Slack's and Teams' own bodies stay far below 1 MB).
OVERSIZED_BYTES = 3 * 1024 * 1024
CHAIR = "U0CHAIRSOAK"
INTRUDER = "U0INTRUDER"
STEP_TIMEOUT_S = 10.0
SETTLE_S = 1.0


def _marker() -> str:
    return f"HOSTILE-MARKER-{uuid.uuid4().hex}"


def _tables() -> list[str]:
    from sqlmodel import SQLModel

    import storage.models  # noqa: F401 (registers every table)

    return sorted(SQLModel.metadata.tables)


async def _row_counts(database_url: str) -> dict[str, int]:
    return {table: await s.count_rows(database_url, table) for table in _tables()}


def _changed(before: dict[str, int], after: dict[str, int]) -> list[str]:
    return [table for table in before if after.get(table) != before[table]]


def _refusal_row(check: str, figure: str, statuses: dict[str, int], *, stored: list[str], logged: list[str]) -> Row:
    accepted = [name for name, status in statuses.items() if status not in REFUSED_STATUSES]
    problems = []
    if accepted:
        problems.append("not refused: " + ", ".join(f"{name} ({statuses[name]})" for name in accepted))
    if stored:
        problems.append("rows changed in " + ", ".join(stored))
    if logged:
        problems.append("body logged: " + ", ".join(logged))
    shown = ", ".join(f"{name} {status}" for name, status in statuses.items())
    return Row(check, f"{figure}: {shown}" + (f"; {'; '.join(problems)}" if problems else "; nothing stored, nothing logged"),
               held=len(statuses) - len(accepted), lost=len(accepted) + len(stored) + len(logged),
               refused=len(statuses) - len(accepted))


# --- Slack signatures and bodies ---------------------------------------------------------------------

async def slack_hostile(ctx: SoakContext) -> list[Row]:
    folder = ctx.folder("hostile-slack")
    database_url = s.sqlite_url(folder)
    async with s.SlackWebApi() as api:
        bot = s.BotServer(env=s.slack_env(workdir=folder, database_url=database_url, api=api, log_level="DEBUG"),
                          workdir=folder, name="hostile-slack")
        await bot.start()
        ctx.audit.add(database_url=database_url, servers=[bot])
        try:
            async with ClientSession() as session:
                player = s.SlackPlayer(session=session, url=bot.slack_url)
                # One genuine question first, so the tables exist and the signing path is shown to work.
                user = "U0HOSTILEOK"
                channel = api.dm_channel(user)
                answered = api.next_said(channel)
                genuine_status, _ = await player.event(s.dm_event(user=user, channel=channel, text="Can I post photos of my class on my Instagram?"))
                genuine_answered = False
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(answered, STEP_TIMEOUT_S)
                    genuine_answered = True
                await asyncio.sleep(SETTLE_S)
                before = await _row_counts(database_url)
                calls_before = len(api.calls)
                markers: dict[str, str] = {}

                def question(name: str) -> str:
                    markers[name] = _marker()
                    hostile_user = f"U0HOSTILE{len(markers):03d}"
                    return json.dumps(s.dm_event(user=hostile_user, channel=api.dm_channel(hostile_user),
                                                 text=f"Can I post this? {markers[name]}"))

                async def raw(body: str | bytes, headers: dict) -> int:
                    data = body.encode() if isinstance(body, str) else body
                    async with session.post(bot.slack_url, data=data, headers={"Content-Type": "application/json", **headers},
                                            timeout=ClientTimeout(total=s.REQUEST_TIMEOUT_S)) as response:
                        await response.read()
                        return response.status

                def signed(body: str, *, timestamp: int | None = None, secret: str = s.SIGNING_SECRET) -> dict:
                    stamp = str(int(time.time()) if timestamp is None else timestamp)
                    return {"X-Slack-Request-Timestamp": stamp,
                            "X-Slack-Signature": s.slack_signature(body=body, timestamp=stamp, secret=secret)}

                statuses: dict[str, int] = {}
                body = question("forged")
                statuses["forged"] = await raw(body, signed(body, secret="not-the-signing-secret"))
                body = question("stale (6 min)")
                statuses["stale (6 min)"] = await raw(body, signed(body, timestamp=int(time.time()) - 360))
                body = question("altered")
                headers = signed(body)
                statuses["altered"] = await raw(body.replace("Can I post this?", "Can I post that?"), headers)
                body = question("unsigned")
                statuses["unsigned"] = await raw(body, {})
                markers["over the cap"] = _marker()
                oversized = json.dumps({"type": "event_callback", "padding": markers["over the cap"] * (OVERSIZED_BYTES // 48)})
                statuses["over the cap"] = await raw(oversized, signed(oversized))
                markers["malformed JSON"] = _marker()
                malformed = '{"type": "event_callback", "event": {"text": "' + markers["malformed JSON"] + '"'
                statuses["malformed JSON"] = await raw(malformed, signed(malformed))
                markers["not a payload"] = _marker()
                strange = json.dumps({"type": "event_callback", "authorizations": 3, "event": markers["not a payload"]})
                statuses["not a payload"] = await raw(strange, signed(strange))
                markers["JSON list"] = _marker()
                listed = json.dumps([markers["JSON list"]])
                statuses["JSON list"] = await raw(listed, signed(listed))
                await asyncio.sleep(SETTLE_S)
                after = await _row_counts(database_url)
                answered_hostile = [call for call in api.calls[calls_before:] if call.method in s.SAID_METHODS]
        finally:
            await bot.stop()
    log = bot.log_text()
    logged = [name for name, marker in markers.items() if marker in log]
    stored = _changed(before, after) + (["Web API (the bot answered one)"] if answered_hostile else [])
    rows = [_refusal_row("hostile slack: signatures and bodies", "8 hostile requests", statuses, stored=stored, logged=logged)]
    rows.append(Row("hostile slack: genuine request answered", f"HTTP {genuine_status}, {'answered' if genuine_answered else 'NOT answered'}",
                    held=int(genuine_answered), lost=int(not genuine_answered)))
    return rows


# --- Teams tokens, in this process ---------------------------------------------------------------------

APP_ID = "6d1c7b1e-4b5f-4c0e-9a55-50a5e0c0ffee"
TENANT_ID = "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9"
BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
KNOWN_KID = "soak-signing-key"


class _KeySetServer(s._LoopbackServer):
    """A loopback stand-in for the Bot Framework's and Entra's signing key sets (JWKS)."""

    def __init__(self, keys: list[dict]) -> None:
        super().__init__()
        self.keys = keys
        self.fetches = 0
        self.app.router.add_get("/{source}/keys", self._keys)

    async def _keys(self, request: web.Request) -> web.Response:
        self.fetches += 1
        return web.json_response({"keys": self.keys})


class _Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            self.lines.append(self.format(record))


@contextlib.contextmanager
def _every_log_line():
    """Every log record of this process at DEBUG, formatted with its traceback, while inside."""
    handler = _Captured()
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def teams_hostile(ctx: SoakContext) -> list[Row]:
    try:
        import jwt
        from cryptography.hazmat.primitives.asymmetric import rsa

        from bot.teams.auth import KeySources
        from bot.teams.routes import teams_subapp
    except ImportError as error:
        return [skipped("hostile teams: tokens", f"cannot build the Teams app in process ({error})")]
    from bot.config import Settings
    from handlers.core import ConversationCore

    signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    stranger_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = {**jwt.algorithms.RSAAlgorithm.to_jwk(signing_key.public_key(), as_dict=True), "kid": KNOWN_KID, "use": "sig"}
    folder = ctx.folder("hostile-teams")
    database_url = s.sqlite_url(folder)
    (folder / "data").mkdir(parents=True, exist_ok=True)
    settings = Settings(
        _env_file=None, database_url=database_url, encryption_key_file=folder / "data" / "encryption.key",
        policy_cache_dir=s.POLICY_CACHE, headteacher_name=s.HEADTEACHER_NAME, microsoft_app_id=APP_ID,
        microsoft_app_password="soak-client-secret", microsoft_app_tenant_id=TENANT_ID,
    )

    service_url = ""  # the connector's, once it runs

    def claims(**changes) -> dict:
        now = int(time.time())
        made = {"iss": BOT_FRAMEWORK_ISSUER, "aud": APP_ID, "iat": now - 60, "nbf": now - 60, "exp": now + 3600,
                "serviceurl": service_url, **changes}
        return {name: value for name, value in made.items() if value is not None}

    def token(*, key=signing_key, kid=KNOWN_KID, **changes) -> str:
        return jwt.encode(claims(**changes), key, algorithm="RS256", headers={"kid": kid})

    def unsigned_none(**changes) -> str:
        import base64

        def segment(value: dict) -> str:
            return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

        return f"{segment({'alg': 'none', 'typ': 'JWT', 'kid': KNOWN_KID})}.{segment(claims(**changes))}."

    async def outgoing_token(self, resource_url, scopes, force_refresh=False):
        # The bot's own token for its replies would come from login.microsoftonline.com: never fetched here.
        return "soak-outgoing-token"

    from microsoft_agents.authentication.msal import MsalAuth

    statuses: dict[str, int] = {}
    markers: dict[str, str] = {}
    async with _KeySetServer([public]) as key_server, s.TeamsConnector() as connector:
        service_url = connector.service_url
        sources = KeySources(botframework=f"{key_server.url}/botframework/keys", entra=f"{key_server.url}/entra/keys")
        with _every_log_line() as lines, mock.patch.object(MsalAuth, "get_access_token", outgoing_token):
            core = await ConversationCore.start(settings=settings)
            app = web.Application(client_max_size=1024**2)
            subapp, authenticated = teams_subapp(settings=settings, core=core, key_sources=sources)
            if not authenticated:
                await core.close()
                return [skipped("hostile teams: tokens", "the Teams app did not run in authenticated mode")]
            app.add_subapp("/api", subapp)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, s.LOOPBACK, 0)
            await site.start()
            url = f"http://{s.LOOPBACK}:{site._server.sockets[0].getsockname()[1]}/api/messages"
            try:
                async with ClientSession() as session:
                    async def send(name: str, authorization: str | None, *, body: bytes | None = None) -> int:
                        markers[name] = _marker()
                        activity = s.teams_activity(service_url=connector.service_url, user=f"29:hostile-{len(markers)}",
                                                    conversation=f"a:hostile-{len(markers)}", text=f"Can I post this? {markers[name]}")
                        data = body if body is not None else json.dumps(activity).encode()
                        headers = {"Content-Type": "application/json", **({"Authorization": authorization} if authorization else {})}
                        async with session.post(url, data=data, headers=headers, timeout=ClientTimeout(total=s.REQUEST_TIMEOUT_S)) as response:
                            await response.read()
                            return response.status

                    genuine = await send("genuine", f"Bearer {token()}")
                    await connector.wait_until(lambda: bool(connector.messages()), timeout=STEP_TIMEOUT_S)
                    genuine_answered = bool(connector.messages())
                    await asyncio.sleep(SETTLE_S)
                    before = await _row_counts(database_url)
                    calls_before = len(connector.calls)
                    now = int(time.time())
                    statuses["missing"] = await send("missing", None)
                    statuses["garbage"] = await send("garbage", "Bearer this-is-not-a-token")
                    statuses["alg=none"] = await send("alg=none", f"Bearer {unsigned_none()}")
                    statuses["self-signed"] = await send("self-signed", f"Bearer {token(key=stranger_key)}")
                    statuses["expired"] = await send("expired", f"Bearer {token(exp=now - 3600, iat=now - 7200, nbf=now - 7200)}")
                    statuses["unknown key id"] = await send("unknown key id", f"Bearer {token(key=stranger_key, kid='kid-' + uuid.uuid4().hex)}")
                    statuses["other audience"] = await send("other audience", f"Bearer {token(aud='someone-elses-app')}")
                    padding = json.dumps({"type": "message", "serviceUrl": connector.service_url, "text": "x" * OVERSIZED_BYTES}).encode()
                    statuses["over the cap, no token"] = await send("over the cap, no token", None, body=padding)
                    statuses["over the cap, genuine token"] = await send("over the cap, genuine token",
                                                                         f"Bearer {token()}", body=padding)
                    await asyncio.sleep(SETTLE_S)
                    after = await _row_counts(database_url)
                    answered_hostile = connector.calls[calls_before:]
            finally:
                await runner.cleanup()
                await core.close()
        fetches = key_server.fetches
    logged = [name for name, marker in markers.items() if name != "genuine" and any(marker in line for line in lines)]
    tracebacks = sum("Traceback" in line for line in lines)
    stored = _changed(before, after) + (["connector (the bot answered one)"] if answered_hostile else [])
    statuses_shown = dict(statuses)
    rows = [_refusal_row("hostile teams: tokens and bodies", f"{len(statuses)} hostile requests, {fetches} key set fetches, {tracebacks} tracebacks logged",
                         statuses_shown, stored=stored, logged=logged)]
    rows.append(Row("hostile teams: genuine token answered", f"HTTP {genuine}, {'answered' if genuine_answered else 'NOT answered'}",
                    held=int(genuine_answered), lost=int(not genuine_answered)))
    return rows


# --- Authorisation -----------------------------------------------------------------------------------

async def authorisation(ctx: SoakContext) -> list[Row]:
    from handlers import actions
    from handlers import report_texts as rtexts

    folder = ctx.folder("hostile-authorisation")
    database_url = s.sqlite_url(folder)
    rows: list[Row] = []
    async with s.SlackWebApi() as api:
        bot = s.BotServer(env=s.slack_env(workdir=folder, database_url=database_url, api=api), workdir=folder, name="authorisation")
        await bot.start()
        ctx.audit.add(database_url=database_url, servers=[bot])
        try:
            await s.assign_role(env=bot.env, workdir=folder, role="headteacher", platform="slack", user_id=HEADTEACHER, name="Mrs Patel")
            await s.assign_role(env=bot.env, workdir=folder, role="chair_of_governors", platform="slack", user_id=CHAIR, name="Mr Okafor")
            async with ClientSession() as session:
                stage = SlackStage(api=api, bot=bot, session=session)
                intruder_channel = api.dm_channel(INTRUDER)

                async def replayed(click: dict, *, as_user: str, channel: str) -> dict:
                    """The same click with someone else's identity, from their own DM."""
                    forged = json.loads(json.dumps(click))
                    forged["user"] = {"id": as_user, "username": as_user.lower(), "name": as_user.lower(), "team_id": s.TEAM_ID}
                    forged["trigger_id"] = f"{int(time.time())}.{uuid.uuid4().int % 10**10}.{uuid.uuid4().hex}"
                    forged["response_url"] = api.response_url()
                    forged["container"]["channel_id"] = channel
                    forged["channel"] = {"id": channel, "name": "directmessage"}
                    return forged

                def told(forged: dict, *, since: int) -> str:
                    """The start of what the bot answered a forged click with (its response_url, or the DM)."""
                    hook = forged["response_url"].rsplit("/", 1)[-1]
                    for call in api.calls[since:]:
                        if (call.method == "response_url" and call.args.get("_hook") == hook) or (
                                call.method in s.SAID_METHODS and call.args.get("channel") == forged["channel"]["id"]):
                            return "told: " + " ".join(str(call.args.get("text") or "").split())[:60]
                    return "told nothing"

                async def views_opened_for(click: dict) -> bool:
                    trigger = click["trigger_id"]
                    await asyncio.sleep(SETTLE_S)
                    return any(call.method == "views.open" and call.args.get("trigger_id") == trigger for call in api.calls)

                async def open_escalations() -> int:
                    return await s.count_rows(database_url, "escalation", where="status = 'open'")

                # 1. The headteacher's "Fine to post", pressed by someone else.
                asker = "U0ASKERAUTH"
                card = await stage.escalated(asker, f"auth-{uuid.uuid4().hex[:6]}")
                click = stage.click(user=HEADTEACHER, channel=stage.head_channel, message=card, action_id=actions.QUESTION_FINE)
                forged = await replayed(click, as_user=INTRUDER, channel=intruder_channel)
                before_open = await open_escalations()
                since = len(api.calls)
                status, _ = await stage.player.interaction(forged)
                opened = await views_opened_for(forged)
                still_open = await open_escalations() == before_open
                refused_click = not opened and still_open
                rows.append(Row("authorisation: decision button replayed by someone else",
                                f"HTTP {status}, {'form opened' if opened else 'no form'}, question {'still open' if still_open else 'DECIDED'}; "
                                f"{told(forged, since=since)}",
                                held=int(refused_click), lost=int(not refused_click), refused=int(refused_click)))

                # 2. The decision form, opened by the headteacher, submitted by someone else.
                view = await stage.open_view(click)
                asker_said = len(api.said(api.dm_channel(asker)))
                status, _ = await stage.player.interaction(s.view_submission(view=view, answers={}, user=INTRUDER, username="intruder"))
                await asyncio.sleep(SETTLE_S)
                still_open = await open_escalations() == before_open
                asker_told = len(api.said(api.dm_channel(asker))) > asker_said
                refused_form = still_open and not asker_told
                rows.append(Row("authorisation: decision form submitted by someone else",
                                f"HTTP {status}, question {'still open' if still_open else 'DECIDED'}, asker {'told' if asker_told else 'not told'}",
                                held=int(refused_form), lost=int(not refused_form), refused=int(refused_form)))

                # The genuine decision still works.
                status, _ = await stage.player.interaction(s.view_submission(view=view, answers={}, user=HEADTEACHER,
                                                                             username=HEADTEACHER_USERNAME))
                await api.wait_until(lambda: len(api.said(api.dm_channel(asker))) > asker_said, timeout=STEP_TIMEOUT_S * 2)
                decided = await open_escalations() == before_open - 1
                rows.append(Row("authorisation: the headteacher's own decision", f"HTTP {status}, {'decided' if decided else 'NOT decided'}",
                                held=int(decided), lost=int(not decided)))

                # 3. The asker's "Ask the headteacher" pressed by someone else.
                other = "U0ASKERAUT2"
                answer = await stage.answered_question(other, f"auth-{uuid.uuid4().hex[:6]}", escalating=True)
                own = stage.click(user=other, channel=api.dm_channel(other), message=answer, action_id=actions.ASK_HEADTEACHER)
                before = await s.count_rows(database_url, "escalation")
                forged = await replayed(own, as_user=INTRUDER, channel=api.dm_channel(other))
                since = len(api.calls)
                status, _ = await stage.player.interaction(forged)
                await asyncio.sleep(SETTLE_S)
                escalated = await s.count_rows(database_url, "escalation") > before
                rows.append(Row("authorisation: someone's Ask the headteacher pressed by another",
                                f"HTTP {status}, {'ESCALATED' if escalated else 'nothing sent'}; {told(forged, since=since)}",
                                held=int(not escalated), lost=int(escalated), refused=int(not escalated)))

                # 4. A removal request approved by someone other than the headteacher.
                requester = "U0REMOVAUTH"
                token = f"auth-removal-{uuid.uuid4().hex[:6]}"
                helped = await stage.said_next(api.dm_channel(requester), stage.player.event(
                    s.dm_event(user=requester, channel=api.dm_channel(requester), text="help")))
                view = await stage.open_view(stage.click(user=requester, channel=api.dm_channel(requester), message=helped,
                                                         action_id=actions.REMOVAL_START))
                await stage.player.interaction(s.view_submission(view=view, user=requester, username="requester", answers={
                    "content": f"A photo of Year 4 on a parent's page ({token})", "location": "elsewhere", "clause": "suggest"}))
                card = await stage.head_card(token)
                approve = stage.click(user=HEADTEACHER, channel=stage.head_channel, message=card, action_id=actions.REMOVAL_APPROVE)
                forged = await replayed(approve, as_user=INTRUDER, channel=intruder_channel)
                since = len(api.calls)
                status, _ = await stage.player.interaction(forged)
                await asyncio.sleep(SETTLE_S)
                pending = await s.count_rows(database_url, "removal_request", where="status = 'pending'")
                rows.append(Row("authorisation: removal approval replayed by someone else",
                                f"HTTP {status}, request {'still pending' if pending else 'DECIDED'}; {told(forged, since=since)}",
                                held=int(bool(pending)), lost=int(not pending), refused=int(bool(pending))))

                # 5. A report about the headteacher (routed to the chair): its card clicked by the headteacher.
                reporter = "U0REPAUTH01"
                channel = api.dm_channel(reporter)
                offer = await stage.said_next(channel, stage.player.event(s.dm_event(user=reporter, channel=channel, text="report")))
                view = await stage.open_view(stage.click(user=reporter, channel=channel, message=offer, action_id=actions.START_REPORT))
                ids = s.field_ids(view)
                chair_channel = api.dm_channel(CHAIR)
                chair_cards = len(api.posted(chair_channel))
                await stage.player.interaction(s.view_submission(view=view, user=reporter, username="reporter", answers={
                    ids[rtexts.FIELD_WHAT]: "The headteacher shared a staff member's post in a parents' group.",
                    ids[rtexts.FIELD_KIND]: "harassment_me", ids[rtexts.FIELD_IDENTITY]: "anonymous",
                    ids[rtexts.FIELD_ABOUT_HEADTEACHER]: True}))
                await api.wait_until(lambda: len(api.posted(chair_channel)) > chair_cards, timeout=STEP_TIMEOUT_S * 2)
                case_card = api.posted(chair_channel)[-1] if len(api.posted(chair_channel)) > chair_cards else None
                buttons = s.buttons_in((case_card or {}).get("blocks") or [])
                action = next((a for a in (actions.CASE_ACKNOWLEDGE, actions.CASE_READ, actions.CASE_REPLY) if a in buttons), None)
                if action is None:
                    rows.append(Row("authorisation: a case about the clicker", "the chair's card had no case button to replay",
                                    lost=1))
                else:
                    chair_click = stage.click(user=CHAIR, channel=chair_channel, message=case_card, action_id=action)
                    head_said = len(api.said(stage.head_channel))
                    forged = await replayed(chair_click, as_user=HEADTEACHER, channel=stage.head_channel)
                    since = len(api.calls)
                    status, _ = await stage.player.interaction(forged)
                    opened = await views_opened_for(forged)
                    unacknowledged = await s.count_rows(database_url, "report_case", where="acknowledged_on IS NULL AND about_headteacher")
                    hooks = [call.args for call in api.calls if call.method == "response_url" and call.args.get("_hook") in forged["response_url"]]
                    shown = json.dumps(hooks + api.said(stage.head_channel)[head_said:], ensure_ascii=False)
                    leaked = "parents' group" in shown
                    refused_case = bool(unacknowledged) and not opened and not leaked
                    rows.append(Row("authorisation: a case about the clicker",
                                    f"{action.rsplit('.', 1)[-1]} by the headteacher: HTTP {status}, case "
                                    f"{'untouched' if unacknowledged and not opened else 'ACTED ON'}{', its text SHOWN' if leaked else ''}; "
                                    f"{told(forged, since=since)}",
                                    held=int(refused_case), lost=int(not refused_case), refused=int(refused_case)))
        finally:
            await bot.stop()
    return rows


async def run(ctx: SoakContext) -> list[Row]:
    return [*await slack_hostile(ctx), *await teams_hostile(ctx), *await authorisation(ctx)]
