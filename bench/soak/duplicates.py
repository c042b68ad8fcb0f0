"""Duplicate deliveries: one effect each, on SQLite and (when there is a server) PostgreSQL.

- Slack re-delivers an event with `X-Slack-Retry-Num` (1, 2, 3) after the first delivery was acknowledged;
- the same Slack event arrives twice at the same moment (a question; an "ask the head: …");
- the same Slack report form submission arrives twice at once;
- Teams re-sends an activity with the same id (after its 15 s, and twice at once), a question and a
  report form's submission.

A question must be answered once, an escalation and a report case stored once.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

from aiohttp import ClientSession

from bench.soak import servers as s
from bench.soak.load import QUESTIONS, REPORT_TEXT, databases
from bench.soak.table import Row, SoakContext, skipped

HEADTEACHER = "U0HEADDUP"
STEP_TIMEOUT_S = 10.0


def _once_row(name: str, figure: str, counts: list[int], *, refused: int = 0) -> Row:
    once = sum(1 for count in counts if count == 1)
    never = sum(1 for count in counts if count == 0)
    extra = sum(count - 1 for count in counts if count > 1)
    return Row(name, f"{figure}: {once} once, {never} never, {extra} extra", held=once, lost=never + extra, refused=refused)


async def _slack_checks(ctx: SoakContext, *, label: str, database_url: str, folder: Path, repeats: int, settle: float) -> list[Row]:
    from handlers import actions
    from handlers import report_texts as rtexts

    rows: list[Row] = []
    run = uuid.uuid4().hex[:6].upper()
    async with s.SlackWebApi() as api:
        bot = s.BotServer(env=s.slack_env(workdir=folder, database_url=database_url, api=api), workdir=folder, name=f"dup-slack-{label}")
        await bot.start()
        try:
            await s.assign_role(env=bot.env, workdir=folder, role="headteacher", platform="slack", user_id=HEADTEACHER, name="Mrs Patel")
            async with ClientSession() as session:
                player = s.SlackPlayer(session=session, url=bot.slack_url)

                # Re-deliveries with X-Slack-Retry-Num, each after the one before was acknowledged.
                async def redelivered(number: int) -> tuple[str, int]:
                    user = f"U0RT{run}{number:03d}"
                    channel = api.dm_channel(user)
                    event = s.dm_event(user=user, channel=channel, text=QUESTIONS[number % len(QUESTIONS)])
                    refused = 0
                    for retry in range(4):
                        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else None
                        status, _ = await player.event(event, headers=headers)
                        refused += status != 200
                    return channel, refused

                sent = await asyncio.gather(*(redelivered(number) for number in range(repeats)))
                channels = [channel for channel, _ in sent]
                await api.wait_until(lambda: all(api.said(channel) for channel in channels), timeout=STEP_TIMEOUT_S)
                await asyncio.sleep(settle)
                rows.append(_once_row(f"duplicates slack {label}: X-Slack-Retry-Num", f"{repeats} events delivered 4 times",
                                      [len(api.said(channel)) for channel in channels], refused=sum(r for _, r in sent)))

                # The same event twice at the same moment.
                async def twice_at_once(number: int) -> str:
                    user = f"U0TW{run}{number:03d}"
                    channel = api.dm_channel(user)
                    event = s.dm_event(user=user, channel=channel, text=QUESTIONS[number % len(QUESTIONS)])
                    await asyncio.gather(player.event(event), player.event(event))
                    return channel

                channels = await asyncio.gather(*(twice_at_once(number) for number in range(repeats)))
                await api.wait_until(lambda: all(api.said(channel) for channel in channels), timeout=STEP_TIMEOUT_S)
                await asyncio.sleep(settle)
                rows.append(_once_row(f"duplicates slack {label}: same event twice at once", f"{repeats} questions",
                                      [len(api.said(channel)) for channel in channels]))

                # "ask the head: …" twice at once: one escalation, one card for the headteacher.
                tokens = [f"dup-ask-{run}-{number:03d}" for number in range(repeats)]

                async def ask_twice(number: int) -> None:
                    user = f"U0AH{run}{number:03d}"
                    event = s.dm_event(user=user, channel=api.dm_channel(user), text=f"ask the head: may I share {tokens[number]}?")
                    await asyncio.gather(player.event(event), player.event(event))

                escalations_before = await s.count_rows(database_url, "escalation")
                await asyncio.gather(*(ask_twice(number) for number in range(repeats)))
                head = api.dm_channel(HEADTEACHER)

                def cards_per_token() -> list[int]:
                    texts = [json.dumps(args, ensure_ascii=False) for args in api.posted(head)]
                    return [sum(token in text for text in texts) for token in tokens]

                await api.wait_until(lambda: all(cards_per_token()), timeout=STEP_TIMEOUT_S * 2)
                await asyncio.sleep(settle)
                stored = await s.count_rows(database_url, "escalation") - escalations_before
                row = _once_row(f"duplicates slack {label}: ask the head twice at once", f"{repeats} questions, {stored} escalations stored; cards",
                                cards_per_token())
                rows.append(Row(row.check, row.figure, held=row.held, lost=row.lost + abs(stored - repeats), refused=row.refused))

                # The same report form submission twice at once.
                cases_before = await s.count_rows(database_url, "report_case")
                confirmed = 0
                for number in range(repeats):
                    reporter = f"U0DR{run}{number:03d}"
                    channel = api.dm_channel(reporter)
                    offered = api.next_said(channel)
                    await player.event(s.dm_event(user=reporter, channel=channel, text="report"))
                    offer = (await asyncio.wait_for(offered, STEP_TIMEOUT_S)).args
                    click = s.block_actions(user=reporter, username=f"dup.{number}", channel=channel, message=offer,
                                            button=s.buttons_in(offer.get("blocks") or [])[actions.START_REPORT],
                                            response_url=api.response_url())
                    opened = api.next_call(lambda call, t=click["trigger_id"]: call.method == "views.open" and call.args.get("trigger_id") == t)
                    await player.interaction(click)
                    view = (await asyncio.wait_for(opened, STEP_TIMEOUT_S)).args["view"]
                    ids = s.field_ids(view)
                    submission = s.view_submission(view=view, user=reporter, username=f"dup.{number}", answers={
                        ids[rtexts.FIELD_WHAT]: REPORT_TEXT, ids[rtexts.FIELD_KIND]: "harassment_me", ids[rtexts.FIELD_IDENTITY]: "anonymous"})
                    answers = await asyncio.gather(player.interaction(submission), player.interaction(submission))
                    confirmed += sum('"update"' in body for _, body in answers)
                stored = await s.count_rows(database_url, "report_case") - cases_before
                rows.append(Row(f"duplicates slack {label}: report submitted twice at once",
                                f"{repeats} reports, {stored} cases stored, {confirmed} confirmations shown",
                                held=min(stored, repeats), lost=abs(stored - repeats) + max(0, repeats - confirmed)))
        finally:
            await bot.stop()
    return rows


async def _teams_checks(ctx: SoakContext, *, label: str, database_url: str, folder: Path, repeats: int, settle: float) -> list[Row]:
    rows: list[Row] = []
    run = uuid.uuid4().hex[:6]
    async with s.TeamsConnector() as connector:
        bot = s.BotServer(env=s.teams_env(workdir=folder, database_url=database_url), workdir=folder, name=f"dup-teams-{label}")
        await bot.start()
        try:
            async with ClientSession() as session:
                player = s.TeamsPlayer(session=session, url=bot.teams_url)

                async def resent(number: int) -> tuple[str, int]:
                    conversation = f"a:dup-{run}-{number}"
                    activity = s.teams_activity(service_url=connector.service_url, user=f"29:dup-{run}-{number}",
                                                conversation=conversation, text=QUESTIONS[number % len(QUESTIONS)])
                    first = await player.send(activity)  # answered; Teams then re-sends it, twice at once
                    again = await asyncio.gather(player.send(activity), player.send(activity))
                    return conversation, sum(status >= 300 for status in (first, *again))

                sent = await asyncio.gather(*(resent(number) for number in range(repeats)))
                await asyncio.sleep(settle)
                rows.append(_once_row(f"duplicates teams {label}: same activity id re-sent", f"{repeats} questions sent 3 times",
                                      [len(connector.messages(conversation)) for conversation, _ in sent], refused=sum(r for _, r in sent)))

                cases_before = await s.count_rows(database_url, "report_case")
                confirmed = 0
                for number in range(repeats):
                    conversation = f"a:dup-report-{run}-{number}"
                    common = dict(service_url=connector.service_url, user=f"29:dup-reporter-{run}-{number}", conversation=conversation)
                    formed = connector.next_call(lambda call, c=conversation: call.conversation == c)
                    await player.send(s.teams_activity(text="report", **common))
                    form = await asyncio.wait_for(formed, STEP_TIMEOUT_S)
                    values = s.card_form_values(form.card, what=REPORT_TEXT, kind="harassment_me", identity="anonymous")
                    submission = s.teams_activity(value=values, reply_to=form.message_id, **common)
                    await asyncio.gather(player.send(submission), player.send(submission))
                    await asyncio.sleep(0.05)
                    confirmed += sum(1 for call in connector.messages(conversation) if call.method == "PUT")
                stored = await s.count_rows(database_url, "report_case") - cases_before
                rows.append(Row(f"duplicates teams {label}: report submission re-sent at once",
                                f"{repeats} reports, {stored} cases stored, {confirmed} confirmations shown",
                                held=min(stored, repeats), lost=abs(stored - repeats) + abs(repeats - confirmed)))
        finally:
            await bot.stop()
    return rows


async def run(ctx: SoakContext) -> list[Row]:
    repeats = ctx.scale(20, 3)
    settle = ctx.scale(2.0, 0.5)
    rows: list[Row] = []
    for label, database_url, folder in await databases(ctx, "duplicates"):
        teams_url = s.sqlite_url(folder / "teams") if label == "sqlite" else await ctx.new_database()
        checks = [
            _slack_checks(ctx, label=label, database_url=database_url, folder=folder, repeats=repeats, settle=settle),
            _teams_checks(ctx, label=label, database_url=teams_url, folder=folder, repeats=repeats, settle=settle),
        ]
        # Slack's and Teams' servers are independent: the short form runs them at the same time.
        for found in (await asyncio.gather(*checks) if ctx.short else [await check for check in checks]):
            rows += found
    if not ctx.postgres_url and "postgres" in ctx.database_kinds:
        rows.append(skipped("duplicates postgres", ctx.postgres_missing))
    return rows
