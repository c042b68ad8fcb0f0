"""Kills: SIGKILL of the bot at a random moment of every flow, then a restart on the same database.

Each trial drives one flow up to its last request and sends it: on Slack a question's DM, a report's form
submission, the "Ask the headteacher" click under an answer, an "ask the head: …" DM, the headteacher's
decision form, a removal request's form; on Teams a question, a report's form card submitted, an "ask the
head: …" message. The server is killed a random delay later (a seeded RNG, printed; drawn on both sides
of the moment the request is usually acknowledged, measured by a warm-up), then started again.

What must hold: whatever the platform got an acknowledgement for (Slack: HTTP 200, and for a report the
modal's update; Teams: 200/202) has its effect in the database (a report case, an escalation, a decided
question, a removal request; a question's answer in the chat) and every notification the request queued
reaches its recipient once in the end (Slack: counted by the notification key in each message's metadata;
Teams: the outbox row delivered, copies counted by the question's token; a repeat is possible there and
shown, not counted). What was not acknowledged may be missing (the platform would retry, or the person
sees an error): counted as refused.

On SQLite and, when there is a server, PostgreSQL; the short form kills two of the Slack flows and (on
SQLite) one of the Teams ones: the question, and on Slack one other picked at random. Set POLICYBOT_SOAK_SEED to replay a run.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import aiohttp
from aiohttp import ClientSession

from bench.soak import servers as s
from bench.soak.table import Row, SoakContext, skipped

HEADTEACHER = "U0HEADKILL"
HEADTEACHER_USERNAME = "m.patel"
# Answered with the "Ask the headteacher" button (the advisor wants the headteacher asked).
ESCALATING_QUESTION = "Can I post a photo of the school trip on my personal facebook? ({token})"
QUESTION = "Can I post photos of my class on my Instagram? ({token})"
REPORT_TEXT = "A parent keeps posting about me under the school's posts. ({token})"
REMOVAL_TEXT = "A photo of Year 4 on a parent's public page ({token})"
TYPED_ESCALATION = "ask the head: may I post the photo from {token}?"
SLACK_FLOWS = ("question", "report", "escalation", "escalation typed", "decision", "removal")
# Deciding and removal on Teams go through the same core as on Slack; these are the Teams requests' own paths.
TEAMS_FLOWS = ("question", "report", "escalation typed")
TEAMS_HEADTEACHER = "29:kill-headteacher"
TEAMS_HEAD_CONVERSATION = "a:kill-headteacher-chat"
STEP_TIMEOUT_S = 10.0
# After the last restart: a killed process's outbox leases run out (15 s) before another server sends them.
DELIVERY_TIMEOUT_S = 45.0
SETTLE_S = 1.0


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run_seed(name: str) -> int:
    """POLICYBOT_SOAK_SEED, else a fresh one; printed, to replay the run."""
    seed = int(os.environ.get("POLICYBOT_SOAK_SEED") or random.SystemRandom().randrange(1, 10**9))
    say(f"   {name}: seed {seed} (POLICYBOT_SOAK_SEED={seed} replays it)")
    return seed


def delivery_keys(calls) -> Counter:
    """How many times each notification key was posted (chat.postMessage metadata)."""
    found: Counter = Counter()
    for arguments in calls:
        metadata = arguments.get("metadata")
        if isinstance(metadata, dict):
            key = (metadata.get("event_payload") or {}).get("delivery_key")
            if key:
                found[key] += 1
    return found


async def notification_ids(database_url: str, *, after: int = 0) -> list[int]:
    rows = await s.query(database_url, f"SELECT id FROM notification WHERE id > {int(after)} ORDER BY id")
    return [int(row[0]) for row in rows]


async def last_notification_id(database_url: str) -> int:
    rows = await s.query(database_url, "SELECT coalesce(max(id), 0) FROM notification")
    return int(rows[0][0])


class SlackStage:
    """A Slack server's fake Web API, a player posting to the server, and the headteacher's DM."""

    def __init__(self, *, api: s.SlackWebApi, bot: s.BotServer, session: ClientSession) -> None:
        self.api = api
        self.player = s.SlackPlayer(session=session, url=bot.slack_url)
        self.head_channel = api.dm_channel(HEADTEACHER)

    async def said_next(self, channel: str, send) -> dict:
        """Send (an awaitable) and return what the bot shows next in `channel` (its arguments)."""
        future = self.api.next_said(channel)
        status, _ = await send
        if status != 200:
            future.cancel()
            raise RuntimeError(f"the bot answered HTTP {status} during a flow's preparation")
        return (await asyncio.wait_for(future, STEP_TIMEOUT_S)).args

    async def open_view(self, click: dict) -> dict:
        trigger = click["trigger_id"]
        opened = self.api.next_call(lambda call: call.method == "views.open" and call.args.get("trigger_id") == trigger)
        status, _ = await self.player.interaction(click)
        if status != 200:
            opened.cancel()
            raise RuntimeError(f"the bot answered HTTP {status} to a click during a flow's preparation")
        return dict((await asyncio.wait_for(opened, STEP_TIMEOUT_S)).args["view"])

    def click(self, *, user: str, channel: str, message: dict, action_id: str) -> dict:
        button = s.buttons_in(message.get("blocks") or []).get(action_id)
        if button is None:
            raise RuntimeError(f"the bot's message had no {action_id} button")
        return s.block_actions(user=user, username=user.lower(), channel=channel, message=message, button=button,
                               response_url=self.api.response_url())

    async def answered_question(self, user: str, token: str, *, escalating: bool) -> dict:
        channel = self.api.dm_channel(user)
        text = (ESCALATING_QUESTION if escalating else QUESTION).format(token=token)
        return await self.said_next(channel, self.player.event(s.dm_event(user=user, channel=channel, text=text)))

    async def head_card(self, token: str) -> dict:
        """The headteacher's card about `token` (waits for the outbox to deliver it)."""

        def card():
            return next((args for args in self.api.posted(self.head_channel) if token in json.dumps(args, ensure_ascii=False)), None)

        await self.api.wait_until(lambda: card() is not None, timeout=DELIVERY_TIMEOUT_S)
        found = card()
        if found is None:
            raise RuntimeError("the headteacher's card never arrived during a flow's preparation")
        return found

    async def escalated(self, user: str, token: str) -> dict:
        """A question sent to the headteacher with the button under its answer; the headteacher's card."""
        from handlers import actions

        answer = await self.answered_question(user, token, escalating=True)
        click = self.click(user=user, channel=self.api.dm_channel(user), message=answer, action_id=actions.ASK_HEADTEACHER)
        status, _ = await self.player.interaction(click)
        if status != 200:
            raise RuntimeError(f"the bot answered HTTP {status} to Ask the headteacher during a preparation")
        return await self.head_card(token)


@dataclass
class Trial:
    """One flow's last request, ready to send: `send()` → (status, body); `effect()` → whether its effect
    is stored (a question: whether its answer reached the chat)."""

    flow: str
    token: str
    send: object  # () -> awaitable (status, body)
    effect: object  # async () -> bool
    acknowledged: object = None  # (status, body) -> bool; HTTP 200 by default


def _acknowledged(trial: Trial, status: int, body: str) -> bool:
    return trial.acknowledged(status, body) if trial.acknowledged else status == 200


async def _more_rows(database_url: str, table: str, before: int, *, where: str = "") -> bool:
    return await s.count_rows(database_url, table, where=where) > before


async def _slack_trial(flow: str, stage: SlackStage, *, database_url: str, number: int, run: str) -> Trial:
    from handlers import actions
    from handlers import report_texts as rtexts

    api, player = stage.api, stage.player
    token = f"kill-{run}-{flow.replace(' ', '-')}-{number:03d}"
    user = f"U0K{run.upper()}{SLACK_FLOWS.index(flow)}{number:03d}"
    channel = api.dm_channel(user)

    async def answered() -> bool:
        return bool(api.said(channel))

    if flow == "question":
        event = s.dm_event(user=user, channel=channel, text=QUESTION.format(token=token))
        return Trial(flow, token, send=lambda: player.event(event), effect=answered)

    if flow == "report":
        offer = await stage.said_next(channel, player.event(s.dm_event(user=user, channel=channel, text="report")))
        view = await stage.open_view(stage.click(user=user, channel=channel, message=offer, action_id=actions.START_REPORT))
        ids = s.field_ids(view)
        submission = s.view_submission(view=view, user=user, username=user.lower(), answers={
            ids[rtexts.FIELD_WHAT]: REPORT_TEXT.format(token=token), ids[rtexts.FIELD_KIND]: "harassment_me",
            ids[rtexts.FIELD_IDENTITY]: "anonymous"})
        before = await s.count_rows(database_url, "report_case")
        return Trial(flow, token, send=lambda: player.interaction(submission),
                     effect=lambda: _more_rows(database_url, "report_case", before),
                     acknowledged=lambda status, body: status == 200 and '"update"' in body)

    if flow == "escalation":
        answer = await stage.answered_question(user, token, escalating=True)
        click = stage.click(user=user, channel=channel, message=answer, action_id=actions.ASK_HEADTEACHER)
        before = await s.count_rows(database_url, "escalation")
        return Trial(flow, token, send=lambda: player.interaction(click), effect=lambda: _more_rows(database_url, "escalation", before))

    if flow == "escalation typed":
        event = s.dm_event(user=user, channel=channel, text=TYPED_ESCALATION.format(token=token))
        before = await s.count_rows(database_url, "escalation")
        return Trial(flow, token, send=lambda: player.event(event), effect=lambda: _more_rows(database_url, "escalation", before))

    if flow == "decision":
        card = await stage.escalated(user, token)
        view = await stage.open_view(stage.click(user=HEADTEACHER, channel=stage.head_channel, message=card,
                                                 action_id=actions.QUESTION_FINE))
        submission = s.view_submission(view=view, answers={}, user=HEADTEACHER, username=HEADTEACHER_USERNAME)
        before = await s.count_rows(database_url, "escalation", where="status <> 'open'")
        return Trial(flow, token, send=lambda: player.interaction(submission),
                     effect=lambda: _more_rows(database_url, "escalation", before, where="status <> 'open'"))

    if flow == "removal":
        helped = await stage.said_next(channel, player.event(s.dm_event(user=user, channel=channel, text="help")))
        view = await stage.open_view(stage.click(user=user, channel=channel, message=helped, action_id=actions.REMOVAL_START))
        submission = s.view_submission(view=view, user=user, username=user.lower(), answers={
            "content": REMOVAL_TEXT.format(token=token), "location": "elsewhere", "clause": "suggest"})
        before = await s.count_rows(database_url, "removal_request")
        return Trial(flow, token, send=lambda: player.interaction(submission),
                     effect=lambda: _more_rows(database_url, "removal_request", before))

    raise ValueError(f"unknown flow {flow!r}")


class TeamsStage:
    """One Teams server (local mode), its fake connector and the headteacher, who has written once (so
    the bot can message them)."""

    def __init__(self, *, connector: s.TeamsConnector, bot: s.BotServer, session: ClientSession) -> None:
        self.connector = connector
        self.player = s.TeamsPlayer(session=session, url=bot.teams_url)

    def activity(self, user: str, conversation: str, **fields) -> dict:
        return s.teams_activity(service_url=self.connector.service_url, user=user, conversation=conversation, **fields)

    async def send(self, activity: dict) -> tuple[int, str]:
        return await self.player.send(activity), ""

    async def introduce_headteacher(self) -> None:
        status = await self.player.send(self.activity(TEAMS_HEADTEACHER, TEAMS_HEAD_CONVERSATION, text="hello"))
        if status >= 300:
            raise RuntimeError(f"the Teams bot answered HTTP {status} to the headteacher's first message")

    def head_copies(self, token: str) -> int:
        return sum(1 for call in self.connector.messages(TEAMS_HEAD_CONVERSATION) if token in json.dumps(call.body, ensure_ascii=False))


def _teams_acknowledged(status: int, _body: str) -> bool:
    return status in (200, 201, 202)


async def _teams_trial(flow: str, stage: TeamsStage, *, database_url: str, number: int, run: str) -> Trial:
    connector = stage.connector
    token = f"kill-{run}-teams-{flow.replace(' ', '-')}-{number:03d}"
    user = f"29:kill-{run}-{TEAMS_FLOWS.index(flow)}-{number:03d}"
    conversation = f"a:kill-{run}-{TEAMS_FLOWS.index(flow)}-{number:03d}"

    if flow == "question":
        activity = stage.activity(user, conversation, text=QUESTION.format(token=token))

        async def answered() -> bool:
            return bool(connector.messages(conversation))

        return Trial(flow, token, send=lambda: stage.send(activity), effect=answered, acknowledged=_teams_acknowledged)

    if flow == "report":
        formed = connector.next_call(lambda call: call.conversation == conversation and call.taken)
        await stage.player.send(stage.activity(user, conversation, text="report"))
        form = await asyncio.wait_for(formed, STEP_TIMEOUT_S)
        values = s.card_form_values(form.card, what=REPORT_TEXT.format(token=token), kind="harassment_me", identity="anonymous")
        submission = stage.activity(user, conversation, value=values, reply_to=form.message_id)
        before = await s.count_rows(database_url, "report_case")
        return Trial(flow, token, send=lambda: stage.send(submission), effect=lambda: _more_rows(database_url, "report_case", before),
                     acknowledged=_teams_acknowledged)

    if flow == "escalation typed":
        activity = stage.activity(user, conversation, text=TYPED_ESCALATION.format(token=token))
        before = await s.count_rows(database_url, "escalation")
        return Trial(flow, token, send=lambda: stage.send(activity), effect=lambda: _more_rows(database_url, "escalation", before),
                     acknowledged=_teams_acknowledged)

    raise ValueError(f"unknown Teams flow {flow!r}")


@dataclass
class FlowTally:
    trials: int = 0
    acknowledged: int = 0
    held: int = 0  # acknowledged, and its effect stored (a question: its answer arrived)
    missing: int = 0  # acknowledged, and no effect
    refused: int = 0  # not acknowledged (the kill came first)
    killed_before_ack: int = 0
    # The notifications the trials' last requests queued: (notification id, the trial's token).
    notifications: list[tuple[int, str]] = field(default_factory=list)


async def _kill_during(trial: Trial, bot: s.BotServer, *, delay: float) -> tuple[int, str, bool]:
    """Send the trial's request, SIGKILL the server `delay` s later; (status, body, whether the answer
    came before the kill). A connection cut by the kill is status 0."""
    request = asyncio.ensure_future(trial.send())
    done, _ = await asyncio.wait({request}, timeout=delay)
    answered_first = bool(done)
    bot.kill()
    try:
        status, body = await asyncio.wait_for(request, s.REQUEST_TIMEOUT_S)
    except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError):
        status, body = 0, ""
    return status, body, answered_first


async def _kill_trials(*, name: str, flows: tuple[str, ...], make_trial, bot: s.BotServer, database_url: str,
                       rng: random.Random, trials_per_flow: int, flow_count: int = 0) -> dict[str, FlowTally]:
    """`flow_count` of the flows (0: all): the first (a question, whose answer is kept nowhere but the chat)
    and others picked at random, each `trials_per_flow` times in a shuffled order; each trial killed at a
    random moment, then the server restarted."""
    others = sorted(flows[1:], key=lambda _flow: rng.random())
    flows = (flows[0], *others)[:flow_count or len(flows)]
    typical = {}
    for flow in flows:  # a warm-up of each, not killed: how long its acknowledgement usually takes
        trial = await make_trial(flow, 999)
        started = time.perf_counter()
        await trial.send()
        typical[flow] = time.perf_counter() - started
    say(f"   {name}: acknowledged in " + ", ".join(f"{flow} {seconds * 1000:.0f} ms" for flow, seconds in typical.items()))
    tallies = {flow: FlowTally() for flow in flows}
    order = [(flow, number) for number in range(trials_per_flow) for flow in flows]
    rng.shuffle(order)
    for flow, number in order:
        tally = tallies[flow]
        trial = await make_trial(flow, number)
        queued_after = await last_notification_id(database_url)
        # Both sides of the usual acknowledgement, and the work after it (replies, the outbox).
        delay = rng.uniform(0.0, typical[flow] * 2.0 + 0.05)
        status, body, answered_first = await _kill_during(trial, bot, delay=delay)
        await bot.start()
        acknowledged = _acknowledged(trial, status, body)
        tally.trials += 1
        tally.acknowledged += acknowledged
        tally.killed_before_ack += not answered_first
        stored = await trial.effect()
        if not acknowledged:
            tally.refused += 1
        elif stored:
            tally.held += 1
        else:
            tally.missing += 1
        tally.notifications.extend((number, trial.token) for number in await notification_ids(database_url, after=queued_after))
        say(f"   {name}: {flow} #{number} killed after {delay * 1000:.0f} ms: HTTP {status or 'cut'}"
            f"{', stored' if stored else ', nothing stored'}{'' if acknowledged or not stored else ' (not acknowledged)'}")
    return tallies


def _rows(prefix: str, tallies: dict[str, FlowTally], copies, *, repeats_allowed: bool = False) -> list[Row]:
    """`copies(notification id, token)` → how many times it reached its recipient."""
    rows = []
    for flow, tally in tallies.items():
        counts = [copies(number, token) for number, token in tally.notifications]
        once = sum(1 for count in counts if count == 1)
        never = sum(1 for count in counts if count == 0)
        extra = sum(count - 1 for count in counts if count > 1)
        owed = "" if not counts and flow == "question" else (
            f"; notifications {once} once, {never} never, {extra} extra" + (" (a repeat is possible on Teams)" if repeats_allowed and extra else ""))
        rows.append(Row(
            f"{prefix}: {flow}",
            f"{tally.trials} killed ({tally.killed_before_ack} before the answer): {tally.acknowledged} acknowledged, "
            f"{tally.held} kept, {tally.missing} lost{owed}",
            held=tally.held, lost=tally.missing + never + (0 if repeats_allowed else extra), refused=tally.refused,
        ))
    return rows


async def slack_kills(ctx: SoakContext, *, label: str, database_url: str, folder: Path, rng: random.Random,
                      trials_per_flow: int, flow_count: int = 0) -> list[Row]:
    run = uuid.uuid4().hex[:5]
    async with s.SlackWebApi() as api:
        bot = s.BotServer(env=s.slack_env(workdir=folder, database_url=database_url, api=api), workdir=folder, name=f"kills-slack-{label}")
        await bot.start()
        ctx.audit.add(database_url=database_url, servers=[bot])
        try:
            await s.assign_role(env=bot.env, workdir=folder, role="headteacher", platform="slack", user_id=HEADTEACHER,
                                name="Mrs Patel")
            async with ClientSession() as session:
                stage = SlackStage(api=api, bot=bot, session=session)
                tallies = await _kill_trials(
                    name=f"kills slack {label}", flows=SLACK_FLOWS, bot=bot, database_url=database_url, rng=rng,
                    trials_per_flow=trials_per_flow, flow_count=flow_count,
                    make_trial=lambda flow, number: _slack_trial(flow, stage, database_url=database_url, number=number, run=run))
                owed = [f"notification-{number}" for tally in tallies.values() for number, _ in tally.notifications]
                await api.wait_until(lambda: all(delivery_keys(api.posted())[key] for key in owed), timeout=DELIVERY_TIMEOUT_S)
                await asyncio.sleep(SETTLE_S)
                posted = delivery_keys(api.posted())
        finally:
            await bot.stop()
    return _rows(f"kills slack {label}", tallies, lambda number, _token: posted[f"notification-{number}"])


async def teams_kills(ctx: SoakContext, *, label: str, database_url: str, folder: Path, rng: random.Random,
                      trials_per_flow: int, flow_count: int = 0) -> list[Row]:
    run = uuid.uuid4().hex[:5]
    async with s.TeamsConnector() as connector:
        bot = s.BotServer(env=s.teams_env(workdir=folder, database_url=database_url), workdir=folder, name=f"kills-teams-{label}")
        await bot.start()
        ctx.audit.add(database_url=database_url, servers=[bot])
        try:
            await s.assign_role(env=bot.env, workdir=folder, role="headteacher", platform="teams", user_id=TEAMS_HEADTEACHER,
                                name="Mrs Patel")
            async with ClientSession() as session:
                stage = TeamsStage(connector=connector, bot=bot, session=session)
                await stage.introduce_headteacher()
                tallies = await _kill_trials(
                    name=f"kills teams {label}", flows=TEAMS_FLOWS, bot=bot, database_url=database_url, rng=rng,
                    trials_per_flow=trials_per_flow, flow_count=flow_count,
                    make_trial=lambda flow, number: _teams_trial(flow, stage, database_url=database_url, number=number, run=run))
                owed = [number for tally in tallies.values() for number, _ in tally.notifications]

                async def delivered() -> set[int]:
                    if not owed:
                        return set()
                    rows = await s.query(database_url, "SELECT id FROM notification WHERE status = 'delivered' AND id IN ("
                                         + ",".join(str(number) for number in owed) + ")")
                    return {int(row[0]) for row in rows}

                deadline = time.monotonic() + DELIVERY_TIMEOUT_S
                while len(await delivered()) < len(owed) and time.monotonic() < deadline:
                    await asyncio.sleep(0.5)
                await asyncio.sleep(SETTLE_S)
                done = await delivered()
                copies = {token: stage.head_copies(token) for tally in tallies.values() for _, token in tally.notifications}
        finally:
            await bot.stop()
    # Delivered per the outbox, and how many copies reached the headteacher's chat (the token in the card).
    return _rows(f"kills teams {label}", tallies, lambda number, token: copies[token] if number in done else 0, repeats_allowed=True)


async def run(ctx: SoakContext) -> list[Row]:
    from bench.soak.load import databases

    seed = run_seed("kills")
    trials_per_flow = ctx.scale(6, 1)
    notes: list[Row] = []
    # The databases at the same time, each with a generator of its own: the seed replays each.
    runs = []
    for label, database_url, folder in await databases(ctx, "kills"):
        (folder / "data").mkdir(parents=True, exist_ok=True)  # the SQLite file's folder
        runs.append(slack_kills(ctx, label=label, database_url=database_url, folder=folder / "slack",
                                rng=random.Random(f"{seed}-slack-{label}"), trials_per_flow=trials_per_flow,
                                flow_count=ctx.scale(0, 2)))
        if ctx.short and label != "sqlite":
            notes.append(skipped(f"kills teams {label}", "in the full run only"))
            continue
        teams_url = s.sqlite_url(folder / "teams") if label == "sqlite" else await ctx.new_database()
        runs.append(teams_kills(ctx, label=label, database_url=teams_url, folder=folder / "teams",
                                rng=random.Random(f"{seed}-teams-{label}"), trials_per_flow=trials_per_flow,
                                flow_count=ctx.scale(0, 1)))
    found = await asyncio.gather(*runs)
    rows = [row for rows_of_one in found for row in rows_of_one] + notes
    if not ctx.postgres_url and "postgres" in ctx.database_kinds:
        rows.append(skipped("kills postgres", ctx.postgres_missing))
    # The seed on the first row, to replay the run.
    return [replace(rows[0], figure=f"{rows[0].figure} (seed {seed})"), *rows[1:]]
