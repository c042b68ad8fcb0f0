"""Faults: Slack's Web API failing for a while, and PostgreSQL restarted under load.

- Notifications: for each kind of failure (429 with Retry-After, 500 with JSON, a plain-text 502 page,
  no answer until the window ends), a Slack server of its own queues "ask the head: …" escalations for
  the headteacher while its Web API fails. Afterwards every notification must have reached the
  headteacher once (counted by the notification key in each message's metadata, and by the question's
  token in its text), in the order they were queued.
- One plain-text 502: a harassment question, whose answer is two messages, while the Web API refuses the
  first with an HTML error page: the second ("This needs reporting") must still arrive.
- PostgreSQL restarted under load (the suite's own cluster only): staff keep asking questions; while the
  server is down each question is answered with the "try again" text (no silence, no HTTP 5xx), and once
  it is back questions are answered again by the same process, not restarted.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter

from aiohttp import ClientSession

from bench.soak import servers as s
from bench.soak.kills import delivery_keys
from bench.soak.table import Row, SoakContext, skipped

HEADTEACHER = "U0HEADFAULT"
FAILURE_KINDS = ("429", "500", "502", "hang")
HARASSMENT_QUESTION = "A parent is harassing me on Facebook, what do I do?"
NEEDS_REPORTING = "This needs reporting"
QUESTION = "Can I post photos of my class on my Instagram?"
# Retries after a failed delivery wait 10 s, then 20 s: a window of a few seconds costs one retry.
DELIVERY_TIMEOUT_S = 75.0
ANSWER_TIMEOUT_S = 10.0
SETTLE_S = 1.5


# --- Notifications while the Web API fails -------------------------------------------------------------

def delivery_keys_in_order(calls) -> list[int]:
    """The notification ids of the posts carrying one in their metadata ("notification-<id>"), in order."""
    ids = []
    for arguments in calls:
        metadata = arguments.get("metadata")
        key = ((metadata.get("event_payload") or {}).get("delivery_key") or "") if isinstance(metadata, dict) else ""
        if key.rpartition("-")[2].isdigit():
            ids.append(int(key.rpartition("-")[2]))
    return ids


def _order_breaks(sequence: list[int]) -> int:
    """How many times a notification arrived before one queued earlier (adjacent descents)."""
    return sum(1 for earlier, later in zip(sequence, sequence[1:]) if later < earlier)


async def _notifications_under(kind: str, *, ctx: SoakContext, count: int, window_s: float) -> Row:
    folder = ctx.folder(f"faults-{kind}")
    database_url = s.sqlite_url(folder)
    run = uuid.uuid4().hex[:6]
    tokens = [f"fault-{kind}-{run}-{number:03d}" for number in range(count)]
    async with s.SlackWebApi() as api:
        bot = s.BotServer(env=s.slack_env(workdir=folder, database_url=database_url, api=api), workdir=folder, name=f"faults-{kind}")
        await bot.start()
        ctx.audit.add(database_url=database_url, servers=[bot])
        try:
            await s.assign_role(env=bot.env, workdir=folder, role="headteacher", platform="slack", user_id=HEADTEACHER, name="Mrs Patel")
            head = api.dm_channel(HEADTEACHER)
            # Every call the outbox makes fails for a while; the askers' own replies with them.
            api.fail(kind, seconds=window_s, methods={"chat.postMessage", "conversations.open", "conversations.history"})
            refused = 0
            async with ClientSession() as session:
                player = s.SlackPlayer(session=session, url=bot.slack_url)
                for number, token in enumerate(tokens):
                    asker = f"U0F{kind.upper()}{run.upper()}{number:03d}"
                    status, _ = await player.event(s.dm_event(user=asker, channel=api.dm_channel(asker),
                                                              text=f"ask the head: may I post the photo from {token}?"))
                    refused += status != 200
                    # In turn: each escalation is queued before the next question is sent.
                    await asyncio.sleep(0.1)

                def cards() -> Counter:
                    found: Counter = Counter()
                    for arguments in api.posted(head):
                        text = json.dumps(arguments, ensure_ascii=False)
                        found.update(token for token in tokens if token in text)
                    return found

                await api.wait_until(lambda: len(cards()) == count, timeout=DELIVERY_TIMEOUT_S)
                await asyncio.sleep(SETTLE_S)
                failed_calls = sum(1 for call in api.calls if call.failure)
                copies = cards()
                keyed = delivery_keys(api.posted(head))
                # The order they reached the headteacher in, by notification id (the order they were queued in).
                arrived: list[int] = []
                for key in delivery_keys_in_order(api.posted(head)):
                    if key not in arrived:
                        arrived.append(key)
        finally:
            await bot.stop()
    once = sum(1 for token in tokens if copies[token] == 1)
    never = sum(1 for token in tokens if copies[token] == 0)
    extra = sum(copies[token] - 1 for token in tokens if copies[token] > 1)
    keyed_extra = sum(number - 1 for number in keyed.values() if number > 1)
    breaks = _order_breaks(arrived)
    label = {"429": "429 with Retry-After", "500": "500 (JSON)", "502": "plain-text 502", "hang": "no answer (hang, then 504)"}[kind]
    return Row(
        f"faults: notifications after {label}",
        f"{count} queued during {window_s:.0f} s of failures ({failed_calls} calls refused): {once} once, {never} never, "
        f"{extra} extra ({len(keyed)} keyed in metadata), {breaks} out of order",
        held=once, lost=never + max(extra, keyed_extra) + breaks, refused=refused,
    )


# --- One plain-text 502 in the middle of a reply -------------------------------------------------------

async def _reply_through_one_502(ctx: SoakContext) -> Row:
    folder = ctx.folder("faults-502-reply")
    database_url = s.sqlite_url(folder)
    async with s.SlackWebApi() as api:
        bot = s.BotServer(env=s.slack_env(workdir=folder, database_url=database_url, api=api), workdir=folder, name="faults-502-reply")
        await bot.start()
        ctx.audit.add(database_url=database_url, servers=[bot])
        try:
            async with ClientSession() as session:
                player = s.SlackPlayer(session=session, url=bot.slack_url)

                async def ask(user: str) -> list[dict]:
                    channel = api.dm_channel(user)
                    await player.event(s.dm_event(user=user, channel=channel, text=HARASSMENT_QUESTION))
                    await api.wait_until(lambda: any(NEEDS_REPORTING in (args.get("text") or "") for args in api.said(channel)),
                                         timeout=ANSWER_TIMEOUT_S)
                    await asyncio.sleep(SETTLE_S)
                    return api.said(channel)

                whole = await ask("U0FAULTWHOLE")
                # The first message of the next reply gets an HTML error page, once.
                victim = "U0FAULT502"
                victim_channel = api.dm_channel(victim)

                def first_refused(call) -> bool:
                    if call.failure and call.args.get("channel") == victim_channel:
                        api.failures.clear()
                        return True
                    return False

                refused = api.next_call(first_refused)
                api.fail("502", seconds=ANSWER_TIMEOUT_S, methods={"chat.postMessage"})
                got = await ask(victim)
                api.failures.clear()
                was_refused = refused.done()
                refused.cancel()
        finally:
            await bot.stop()
    needs_reporting = any(NEEDS_REPORTING in (args.get("text") or "") for args in got)
    owed = len(whole) - 1  # all but the one Slack refused
    arrived = len(got)
    held = min(arrived, owed)
    lost = max(0, owed - arrived) + (0 if needs_reporting else 1)
    return Row(
        "faults: a reply through one plain-text 502",
        f"harassment question: {len(whole)} messages without faults; with its first refused "
        f"({'refused' if was_refused else 'NOT refused'}), {arrived} arrived, "
        f"\"{NEEDS_REPORTING}\" {'arrived' if needs_reporting else 'LOST'}",
        held=held, lost=lost if was_refused else lost + 1, refused=int(was_refused),
    )


# --- PostgreSQL restarted under load -------------------------------------------------------------------

async def _postgres_restart(ctx: SoakContext, *, clients: int, down_s: float, after_s: float) -> list[Row]:
    from handlers import texts

    cluster = ctx.postgres_cluster
    if cluster is None:
        reason = ctx.postgres_missing if not ctx.postgres_url else "the PostgreSQL server was given (--postgres-url), not started by the suite: it is not restarted"
        return [skipped("faults: postgres restarted under load", reason)]
    try_again = texts.SOMETHING_WENT_WRONG.split(";", 1)[0]
    folder = ctx.folder("faults-postgres")
    database_url = await ctx.new_database()
    run = uuid.uuid4().hex[:5].upper()
    # (phase, outcome) → count; outcome: answered, told to try again, unanswered, HTTP error.
    outcomes: Counter = Counter()
    first_answer_after_restart: list[float] = []
    async with s.SlackWebApi() as api:
        bot = s.BotServer(env=s.slack_env(workdir=folder, database_url=database_url, api=api), workdir=folder, name="faults-postgres")
        await bot.start()
        ctx.audit.add(database_url=database_url, servers=[bot])
        phase = "before"
        restarted_at = [0.0]
        try:
            async with ClientSession() as session:
                player = s.SlackPlayer(session=session, url=bot.slack_url)
                stop = asyncio.Event()

                async def client(number: int) -> None:
                    user = f"U0PG{run}{number:03d}"
                    channel = api.dm_channel(user)
                    turn = 0
                    while not stop.is_set():
                        turn += 1
                        asked_in = phase
                        answered = api.next_said(channel)
                        try:
                            status, _ = await player.event(s.dm_event(user=user, channel=channel, text=f"{QUESTION} ({turn})"))
                        except Exception:
                            status = 0
                        if status != 200:
                            answered.cancel()
                            outcomes[asked_in, "HTTP error"] += 1
                            await asyncio.sleep(0.2)
                            continue
                        try:
                            call = await asyncio.wait_for(answered, ANSWER_TIMEOUT_S)
                        except asyncio.TimeoutError:
                            outcomes[asked_in, "unanswered"] += 1
                            continue
                        told = try_again in (call.args.get("text") or "") or try_again in json.dumps(call.args.get("blocks") or [])
                        outcomes[asked_in, "told to try again" if told else "answered"] += 1
                        if not told and asked_in == "after" and not first_answer_after_restart:
                            first_answer_after_restart.append(time.monotonic() - restarted_at[0])
                        await asyncio.sleep(0.05)

                tasks = [asyncio.create_task(client(number)) for number in range(clients)]
                await asyncio.sleep(1.0)
                phase = "down"
                await cluster.stop_server()
                await asyncio.sleep(down_s)
                await cluster.start_server()
                restarted_at[0] = time.monotonic()
                phase = "after"
                await asyncio.sleep(after_s)
                stop.set()
                await asyncio.gather(*tasks)
                still_running = bot.running
        finally:
            await bot.stop()
    log = bot.log_text()
    tracebacks = log.count("Traceback")
    # Identifiers in the log (the driver's SQL parameters in an error's text): no log may hold them.
    needles = [f"U0PG{run}{number:03d}" for number in range(clients)]
    naming = sum(1 for line in log.splitlines() if any(needle in line for needle in needles))
    down_told, down_answered = outcomes["down", "told to try again"], outcomes["down", "answered"]
    down_bad = outcomes["down", "unanswered"] + outcomes["down", "HTTP error"]
    after_ok = outcomes["after", "answered"]
    after_bad = outcomes["after", "unanswered"] + outcomes["after", "HTTP error"]
    recovered = bool(first_answer_after_restart) and still_running
    recovery = f"answering again {first_answer_after_restart[0]:.1f} s after the restart" if first_answer_after_restart else "NEVER answering again"
    return [
        Row("faults: postgres down, requests fail cleanly",
            f"{clients} clients, {down_s:.0f} s down: {down_told} told to try again, {down_answered} answered, "
            f"{outcomes['down', 'unanswered']} unanswered, {outcomes['down', 'HTTP error']} HTTP errors; {tracebacks} tracebacks in the log, "
            f"{naming} log lines naming a user",
            held=down_told + down_answered, lost=down_bad + naming, refused=down_told),
        Row("faults: postgres back, the bot recovers",
            f"{recovery} (same process{'' if still_running else ': it DIED'}); afterwards {after_ok} answered, "
            f"{outcomes['after', 'told to try again']} told to try again, {after_bad} unanswered or errors",
            held=after_ok, lost=(0 if recovered else 1) + after_bad, refused=outcomes["after", "told to try again"]),
    ]


async def run(ctx: SoakContext) -> list[Row]:
    count = ctx.scale(12, 3)
    # Past the first retry (10 s) in the full run, so a notification fails twice.
    window_s = ctx.scale(12.0, 3.0)
    # Each part has servers of its own: all at once. The short form leaves out 500 and hang, which
    # take the same way back as 502 (an error answer, a retry 10 s later).
    kinds = FAILURE_KINDS if not ctx.short else ("429", "502")
    parts = [_notifications_under(kind, ctx=ctx, count=count, window_s=window_s) for kind in kinds]
    parts.append(_reply_through_one_502(ctx))
    parts.append(_postgres_restart(ctx, clients=ctx.scale(20, 4), down_s=ctx.scale(4.0, 2.0), after_s=ctx.scale(8.0, 4.0)))
    rows: list[Row] = []
    for found in await asyncio.gather(*parts):
        rows.extend(found if isinstance(found, list) else [found])
    if ctx.short:
        rows.append(skipped("faults: notifications after 500 and hang", "in the full run only"))
    return rows
