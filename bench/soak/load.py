"""Load: 100 concurrent clients for 60 s (--short: 10 for 3 s) on Slack, then on Teams, on SQLite and (when
there is a server) on PostgreSQL. Each client is a member of staff asking questions in their DM and
clicking "Helpful" under the answers; every tenth turn someone new makes an anonymous report through the
private form, as the platform's client would (Slack: "report" → "Make a report" → the modal → submitted;
Teams: "report" → the form card → submitted). Every value a click or a form sends back is the one the
bot rendered, as the fake Web API or connector recorded it.

Figures: p50/p99 of each kind of turn (sent → the bot's answer reached the platform), answered per
second, errors, the server's peak RSS (goal ≤ 150 MB at 100 clients), and the report cases in the
database afterwards: each report the form confirmed is stored exactly once.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import statistics
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import ClientSession, TCPConnector

from bench.bench_slack import QUESTIONS  # the same questions as the Slack benchmark
from bench.soak import servers as s
from bench.soak.table import Reporter, Row, SoakContext, skipped

REPORT_TEXT = "A parent keeps posting about me under the school's posts and messaged me at home."
# A turn is timed until its answer for this long; an answer later than that still counts (as late) when it
# comes within LATE_GRACE_S after the load ends: only a turn never answered is lost.
ANSWER_TIMEOUT_S = 10.0
SLACK_ACK_S = 3.0
LATE_GRACE_S = 15.0
# Each step of a report (the offer, the form, the confirmation).
STEP_TIMEOUT_S = 20.0
GOAL_RSS_MB = 150.0
GOAL_CLIENTS = 100
# Every REPORT_EVERY-th turn of a client is a report by someone new; every CLICK_EVERY-th a click.
REPORT_EVERY = 10
CLICK_EVERY = 3
CASE_CODE = re.compile(r"\b[A-Z0-9]{4}-[A-Z0-9]{4}\b")


@dataclass
class Kind:
    """The turns of one kind: how long each took to be answered, and how many went wrong."""

    latencies: list[float] = field(default_factory=list)
    unanswered: int = 0  # acknowledged, then no answer in time
    errors: int = 0  # not acknowledged (an HTTP error, a refused request)
    late: list = field(default_factory=list)  # (future of the answering call, when the turn was sent)
    reasons: Counter = field(default_factory=Counter)  # what the errors were
    slow_acks: int = 0  # Slack interactions acknowledged after Slack's 3 s (Slack shows the person an error)

    def error(self, reason: str) -> None:
        self.errors += 1
        self.reasons[reason] += 1

    def acked(self, seconds: float) -> None:
        if seconds > SLACK_ACK_S:
            self.slow_acks += 1

    async def answered(self, future: asyncio.Future, *, sent: float):
        """The call answering a turn sent at `sent` (time.monotonic), timed; None when it takes longer
        than ANSWER_TIMEOUT_S (then it is settled after the load)."""
        try:
            call = await asyncio.wait_for(asyncio.shield(future), ANSWER_TIMEOUT_S)
        except asyncio.TimeoutError:
            self.late.append((future, sent))
            return None
        self.latencies.append(call.at - sent)
        return call

    async def settle(self, *, grace: float = LATE_GRACE_S) -> None:
        deadline = time.monotonic() + grace
        for future, sent in self.late:
            try:
                call = await asyncio.wait_for(asyncio.shield(future), max(0.0, deadline - time.monotonic()))
                self.latencies.append(call.at - sent)
            except asyncio.TimeoutError:
                future.cancel()
                self.unanswered += 1
        self.late = []

    def figure(self, *, elapsed: float) -> str:
        errors = f"{self.errors} errors"
        if self.reasons:
            errors += " (" + ", ".join(f"{reason} {count}" for reason, count in self.reasons.most_common(3)) + ")"
        if self.slow_acks:
            errors += f", {self.slow_acks} acks after Slack's 3 s"
        if not self.latencies:
            return f"none answered, {errors}"
        return (f"p50 {percentile(self.latencies, 50) * 1000:.0f} ms, p99 {percentile(self.latencies, 99) * 1000:.0f} ms, "
                f"{len(self.latencies) / elapsed:.1f} answered/s, {errors}")


@dataclass
class Phase:
    """One platform on one database: what happened, for the table and for the anonymity audit."""

    platform: str
    database: str
    database_url: str
    clients: int
    questions: Kind = field(default_factory=Kind)
    clicks: Kind = field(default_factory=Kind)
    reports: Kind = field(default_factory=Kind)
    reports_started: int = 0  # someone set out to report
    reports_tried: int = 0  # ... and got as far as sending the form
    reports_confirmed: int = 0
    reports_stored: int = 0
    elapsed: float = 0.0
    peak_rss_mb: float = 0.0
    reporters: list[Reporter] = field(default_factory=list)
    servers: list = field(default_factory=list)

    def rows(self, *, judge_rss: bool = True) -> list[Row]:
        name = f"load {self.platform} {self.database}"
        missing = max(0, self.reports_confirmed - self.reports_stored)
        twice = max(0, self.reports_stored - self.reports_tried)
        # Sent, but the form never showed the case code and secret (an error answer, or none in time):
        # the reporter cannot follow the report up, and may well send it again.
        unconfirmed = self.reports_tried - self.reports_confirmed
        over = judge_rss and self.clients >= GOAL_CLIENTS and self.peak_rss_mb > GOAL_RSS_MB
        rss_note = f"goal ≤ {GOAL_RSS_MB:.0f} MB at {GOAL_CLIENTS}: {'MISSED' if over else 'met'}" if self.clients >= GOAL_CLIENTS else "goal judged at 100 clients"
        return [
            Row(f"{name}: questions", f"{self.clients} clients, {self.questions.figure(elapsed=self.elapsed)}",
                held=len(self.questions.latencies), lost=self.questions.unanswered, refused=self.questions.errors),
            Row(f"{name}: Helpful clicks", self.clicks.figure(elapsed=self.elapsed),
                held=len(self.clicks.latencies), lost=self.clicks.unanswered, refused=self.clicks.errors),
            Row(f"{name}: reports stored once",
                f"{self.reports_started} started, {self.reports_tried} sent, {self.reports_confirmed} confirmed, {self.reports_stored} stored; "
                f"{self.reports.figure(elapsed=self.elapsed)}",
                held=min(self.reports_confirmed, self.reports_stored), lost=missing + twice + unconfirmed,
                refused=self.reports_started - self.reports_tried),
            Row(f"{name}: peak RSS", f"{self.peak_rss_mb:.0f} MB ({rss_note})", held=0 if over else 1, lost=1 if over else 0),
        ]


def percentile(values: list[float], pct: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


# --- Slack ---------------------------------------------------------------------------------------------

class _SlackClient:
    def __init__(self, *, number: int, run: str, api: s.SlackWebApi, player: s.SlackPlayer, phase: Phase) -> None:
        self.user = f"U0L{run}{number:04d}"
        self.name = f"staff.{run.lower()}{number}"
        self.channel = api.dm_channel(self.user)
        self.api = api
        self.player = player
        self.phase = phase
        self.run = run
        self.last_answer: dict | None = None
        self.reports = itertools.count(1)
        self.number = number

    async def question(self, text: str) -> None:
        answered = self.api.next_said(self.channel)
        sent = time.monotonic()
        try:
            status, _ = await self.player.event(s.dm_event(user=self.user, channel=self.channel, text=text))
        except Exception as error:
            answered.cancel()
            self.phase.questions.error(type(error).__name__)
            return
        if status != 200:
            answered.cancel()
            self.phase.questions.error(f"HTTP {status}")
            return
        call = await self.phase.questions.answered(answered, sent=sent)
        if call is not None:
            self.last_answer = call.args

    async def click_helpful(self) -> None:
        from handlers import actions

        button = s.buttons_in((self.last_answer or {}).get("blocks") or []).get(actions.FEEDBACK_HELPFUL)
        if button is None:
            return
        hook = f"{self.user}-{uuid.uuid4().hex[:8]}"
        answered = self.api.next_call(lambda call: (call.method in s.SAID_METHODS and call.args.get("channel") == self.channel)
                                      or (call.method == "response_url" and call.args.get("_hook") == hook))
        payload = s.block_actions(user=self.user, username=self.name, channel=self.channel, message=self.last_answer,
                                  button=button, response_url=self.api.response_url(hook))
        sent = time.monotonic()
        try:
            status, _ = await self.player.interaction(payload)
        except Exception as error:
            answered.cancel()
            self.phase.clicks.error(type(error).__name__)
            return
        self.phase.clicks.acked(time.monotonic() - sent)
        if status != 200:
            answered.cancel()
            self.phase.clicks.error(f"HTTP {status}")
            return
        await self.phase.clicks.answered(answered, sent=sent)

    async def report(self) -> None:
        """Someone new reports anonymously: DM "report", press "Make a report", fill in and send the modal."""
        from handlers import actions
        from handlers import report_texts as rtexts

        number = next(self.reports)
        reporter = f"U0R{self.run}{self.number:04d}{number:03d}"
        name = f"reporter.{self.run.lower()}{self.number}x{number}"
        channel = self.api.dm_channel(reporter)
        self.api.users[reporter] = name
        self.phase.reporters.append(Reporter(user_id=reporter, name=name, dm_channel=channel))
        kind = self.phase.reports
        self.phase.reports_started += 1
        started = time.monotonic()
        try:
            offered = self.api.next_said(channel)
            status, _ = await self.player.event(s.dm_event(user=reporter, channel=channel, text="report"))
            if status != 200:
                offered.cancel()
                kind.error(f"HTTP {status} to the DM")
                return
            offer = (await asyncio.wait_for(offered, STEP_TIMEOUT_S)).args
            button = s.buttons_in(offer.get("blocks") or []).get(actions.START_REPORT)
            if button is None:
                kind.unanswered += 1
                return
            click = s.block_actions(user=reporter, username=name, channel=channel, message=offer, button=button,
                                    response_url=self.api.response_url())
            trigger = click["trigger_id"]
            opened = self.api.next_call(lambda call: call.method == "views.open" and call.args.get("trigger_id") == trigger)
            clicked = time.monotonic()
            status, _ = await self.player.interaction(click)
            kind.acked(time.monotonic() - clicked)
            if status != 200:
                opened.cancel()
                kind.error(f"HTTP {status} to the click")
                return
            view = dict((await asyncio.wait_for(opened, STEP_TIMEOUT_S)).args["view"])
            ids = s.field_ids(view)
            answers = {ids[rtexts.FIELD_WHAT]: REPORT_TEXT, ids[rtexts.FIELD_KIND]: "harassment_me",
                       ids[rtexts.FIELD_IDENTITY]: "anonymous"}
            self.phase.reports_tried += 1
            submission = s.view_submission(view=view, answers=answers, user=reporter, username=name)
            view_id = submission["view"].get("id")
            # A busy bot answers "saving…" in time and puts the confirmation in the same modal afterwards.
            confirmed_later = self.api.next_call(
                lambda call: call.method == "views.update" and call.args.get("view_id") == view_id
                and CASE_CODE.search(json.dumps(call.args))
            )
            submitted = time.monotonic()
            status, body = await self.player.interaction(submission)
            kind.acked(time.monotonic() - submitted)
            if status == 200 and '"update"' in body and not CASE_CODE.search(body):
                await asyncio.wait_for(confirmed_later, STEP_TIMEOUT_S)
                body = json.dumps(confirmed_later.result().args)
            confirmed_later.cancel()
        except Exception as error:
            kind.error(type(error).__name__)
            return
        if status != 200:
            kind.error(f"HTTP {status} to the form")
            return
        if not CASE_CODE.search(body):
            kind.unanswered += 1
            return
        self.phase.reports_confirmed += 1
        kind.latencies.append(time.monotonic() - started)


async def slack_phase(*, folder: Path, database_url: str, database: str, clients: int, seconds: float,
                      log_level: str = "INFO") -> Phase:
    phase = Phase(platform="slack", database=database, database_url=database_url, clients=clients)
    async with s.SlackWebApi() as api:
        bot = s.BotServer(env=s.slack_env(workdir=folder, database_url=database_url, api=api, log_level=log_level),
                          workdir=folder, name=f"slack-{database}")
        phase.servers.append(bot)
        await bot.start()
        try:
            run = uuid.uuid4().hex[:4].upper()
            async with ClientSession(connector=TCPConnector(limit=clients * 2)) as session:
                player = s.SlackPlayer(session=session, url=bot.slack_url)
                people = [_SlackClient(number=n, run=run, api=api, player=player, phase=phase) for n in range(clients)]
                phase.elapsed = await _drive(people, seconds=seconds)
        finally:
            await bot.stop()
            phase.peak_rss_mb = bot.peak_rss_mb
    phase.reports_stored = await s.count_rows(database_url, "report_case")
    return phase


async def _drive(people, *, seconds: float) -> float:
    """Every client asks one question to warm up (not counted), then takes turns until the time is up;
    the wall time taken."""
    await asyncio.gather(*(person.question(QUESTIONS[0]) for person in people))
    for person in people:
        person.phase.questions = Kind()
    deadline = time.monotonic() + seconds

    async def take_turns(person) -> None:
        for turn in itertools.count():
            if time.monotonic() > deadline:
                return
            if turn % REPORT_EVERY == REPORT_EVERY // 2:
                await person.report()
            elif turn % CLICK_EVERY == CLICK_EVERY - 1:
                await person.click_helpful()
            else:
                await person.question(QUESTIONS[(turn + person.number) % len(QUESTIONS)])

    started = time.monotonic()
    await asyncio.gather(*(take_turns(person) for person in people))
    elapsed = time.monotonic() - started
    phase = people[0].phase
    for kind in (phase.questions, phase.clicks, phase.reports):
        await kind.settle()
    return elapsed


# --- Teams ---------------------------------------------------------------------------------------------

class _TeamsClient:
    def __init__(self, *, number: int, run: str, connector: s.TeamsConnector, player: s.TeamsPlayer, phase: Phase) -> None:
        self.user = f"29:load-{run}-{number}"
        self.conversation = f"a:load-chat-{run}-{number}"
        self.connector = connector
        self.player = player
        self.phase = phase
        self.run = run
        self.number = number
        self.last_answer = None
        self.reports = itertools.count(1)

    async def _turn(self, kind: Kind, activity: dict, *, conversation: str, timed: bool = True):
        """Send one activity; the connector call answering it, or None (counted) when there is none.
        `timed`: a turn of its own, timed (not a step of a report)."""
        answered = self.connector.next_call(lambda call: call.conversation == conversation and call.taken)
        sent = time.monotonic()
        try:
            status = await self.player.send(activity)
        except Exception as error:
            answered.cancel()
            kind.error(type(error).__name__)
            return None, sent
        if status >= 300:
            answered.cancel()
            kind.error(f"HTTP {status}")
            return None, sent
        if timed:
            return await kind.answered(answered, sent=sent), sent
        try:
            return await asyncio.wait_for(answered, STEP_TIMEOUT_S), sent
        except asyncio.TimeoutError:
            kind.unanswered += 1
            return None, sent

    async def question(self, text: str) -> None:
        activity = s.teams_activity(service_url=self.connector.service_url, user=self.user, conversation=self.conversation, text=text)
        call, _ = await self._turn(self.phase.questions, activity, conversation=self.conversation)
        if call is not None:
            self.last_answer = call

    async def click_helpful(self) -> None:
        from handlers import texts

        action = s.card_actions(self.last_answer.card if self.last_answer else None).get(texts.HELPFUL_BUTTON)
        if action is None:
            return
        activity = s.teams_activity(service_url=self.connector.service_url, user=self.user, conversation=self.conversation,
                                    value=action["data"], reply_to=self.last_answer.message_id)
        await self._turn(self.phase.clicks, activity, conversation=self.conversation)

    async def report(self) -> None:
        number = next(self.reports)
        reporter = Reporter(
            user_id=f"29:reporter-{self.run}-{self.number}-{number}", name=f"Reporter {self.run} {self.number}x{number}",
            aad_id=str(uuid.uuid4()), conversation_id=f"a:reporter-chat-{self.run}-{self.number}-{number}",
        )
        self.phase.reporters.append(reporter)
        common = dict(service_url=self.connector.service_url, user=reporter.user_id, conversation=reporter.conversation_id,
                      name=reporter.name, aad_id=reporter.aad_id)
        kind = self.phase.reports
        self.phase.reports_started += 1
        form, started = await self._turn(kind, s.teams_activity(text="report", **common), conversation=reporter.conversation_id,
                                         timed=False)
        if form is None:
            return
        if form.card is None:
            kind.unanswered += 1
            return
        try:
            values = s.card_form_values(form.card, what=REPORT_TEXT, kind="harassment_me", identity="anonymous")
        except StopIteration:
            kind.unanswered += 1
            return
        self.phase.reports_tried += 1
        confirmation, _ = await self._turn(kind, s.teams_activity(value=values, reply_to=form.message_id, **common),
                                           conversation=reporter.conversation_id, timed=False)
        if confirmation is None:
            return
        if not CASE_CODE.search(json.dumps(confirmation.body)):
            kind.unanswered += 1
            return
        self.phase.reports_confirmed += 1
        kind.latencies.append(time.monotonic() - started)


async def teams_phase(*, folder: Path, database_url: str, database: str, clients: int, seconds: float,
                      log_level: str = "INFO") -> Phase:
    phase = Phase(platform="teams", database=database, database_url=database_url, clients=clients)
    async with s.TeamsConnector() as connector:
        bot = s.BotServer(env=s.teams_env(workdir=folder, database_url=database_url, log_level=log_level),
                          workdir=folder, name=f"teams-{database}")
        phase.servers.append(bot)
        await bot.start()
        try:
            run = uuid.uuid4().hex[:6]
            async with ClientSession(connector=TCPConnector(limit=clients * 2)) as session:
                player = s.TeamsPlayer(session=session, url=bot.teams_url)
                people = [_TeamsClient(number=n, run=run, connector=connector, player=player, phase=phase) for n in range(clients)]
                phase.elapsed = await _drive(people, seconds=seconds)
        finally:
            await bot.stop()
            phase.peak_rss_mb = bot.peak_rss_mb
    phase.reports_stored = await s.count_rows(database_url, "report_case")
    return phase


# --- The check -----------------------------------------------------------------------------------------

async def databases(ctx: SoakContext, name: str) -> list[tuple[str, str, Path]]:
    """(label, database URL, folder) for SQLite and, when there is a server, PostgreSQL (those of
    `ctx.database_kinds`)."""
    found = []
    if "sqlite" in ctx.database_kinds:
        sqlite_folder = ctx.folder(f"{name}-sqlite")
        found.append(("sqlite", s.sqlite_url(sqlite_folder), sqlite_folder))
    if ctx.postgres_url and "postgres" in ctx.database_kinds:
        found.append(("postgres", await ctx.new_database(), ctx.folder(f"{name}-postgres")))
    return found


async def run_phases(ctx: SoakContext, *, name: str, clients: int, seconds: float, log_level: str) -> tuple[list[Phase], list[Row]]:
    """Slack, then Teams, on each database (the short form runs the two platforms at the same time: it
    is a smoke test, and its figures are not the ones judged)."""
    phases: list[Phase] = []
    notes: list[Row] = []
    for label, database_url, folder in await databases(ctx, name):
        # Each platform on a database of its own: the report count is each platform's.
        teams_url = s.sqlite_url(folder / "teams") if label == "sqlite" else await ctx.new_database()
        runs = [
            slack_phase(folder=folder, database_url=database_url, database=label, clients=clients, seconds=seconds, log_level=log_level),
            teams_phase(folder=folder, database_url=teams_url, database=label, clients=clients, seconds=seconds, log_level=log_level),
        ]
        done = await asyncio.gather(*runs) if ctx.short else [await run for run in runs]
        for phase in done:
            phases.append(phase)
            ctx.audit.add(reporters=phase.reporters, database_url=phase.database_url, servers=phase.servers)
    if not ctx.postgres_url and "postgres" in ctx.database_kinds:
        notes.append(skipped(f"{name} postgres", ctx.postgres_missing))
    return phases, notes


async def run(ctx: SoakContext) -> list[Row]:
    clients = ctx.scale(GOAL_CLIENTS, 10)
    seconds = ctx.scale(60.0, 3.0)
    phases, notes = await run_phases(ctx, name="load", clients=clients, seconds=seconds, log_level="INFO")
    rows = [row for phase in phases for row in phase.rows()]
    return rows + notes
