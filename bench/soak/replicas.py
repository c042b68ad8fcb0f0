"""Replicas: two `policybot serve` processes (Slack) sharing one PostgreSQL database, as a school running
two copies behind a load balancer would.

N members of staff each type "ask the head: …" to one replica or the other; each question queues an
outbox notification for the headteacher, and both replicas' outbox workers compete for them. Each
question's card must reach the fake Web API exactly once. Then the headteacher decides every question:
"Fine to post" on the card as it arrived (its value untouched), the decision form the bot opens, and its
submission sent to both replicas at the same moment (half as one payload delivered twice, as a retry
landing on the other replica; half as two submissions, as two windows). Each question must be decided
once: one answer in the asker's chat, the escalation answered in the database.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter

from aiohttp import ClientSession

from bench.soak import servers as s
from bench.soak.table import Row, SoakContext, skipped

HEADTEACHER = "U0HEADSOAK"
HEADTEACHER_NAME = "m.patel"
DELIVERY_TIMEOUT_S = 40.0
# After everything arrived: long enough for a second copy from a race to show (full run, short run).
SETTLE_S = (6.0, 1.5)
STEP_TIMEOUT_S = 10.0


def _copies(calls: list[dict], tokens: list[str]) -> Counter:
    """How many of `calls` name each token."""
    found: Counter = Counter()
    for arguments in calls:
        text = json.dumps(arguments, ensure_ascii=False)
        for token in tokens:
            if token in text:
                found[token] += 1
    return found


async def run(ctx: SoakContext) -> list[Row]:
    if not ctx.postgres_url:
        return [skipped("replicas postgres", ctx.postgres_missing)]
    from handlers import actions

    count = ctx.scale(40, 6)
    folder = ctx.folder("replicas")
    run_id = uuid.uuid4().hex[:6]
    async with s.SlackWebApi() as api:
        async with s.slack_replicas(server_url=ctx.postgres_url, api=api, workdir=folder, count=2) as (replicas, database_url):
            await s.assign_role(env=replicas[0].env, workdir=folder, role="headteacher", platform="slack",
                                user_id=HEADTEACHER, name="Mrs Patel")
            head_channel = api.dm_channel(HEADTEACHER)
            askers = [f"U0ASK{run_id.upper()}{number:03d}" for number in range(count)]
            tokens = [f"soak-question-{run_id}-{number:03d}" for number in range(count)]
            async with ClientSession() as session:
                players = [s.SlackPlayer(session=session, url=replica.slack_url) for replica in replicas]
                # The questions, spread over both replicas.
                statuses = await asyncio.gather(*(
                    players[number % 2].event(s.dm_event(user=asker, channel=api.dm_channel(asker),
                                                         text=f"ask the head: can I post the photo from {token}?"))
                    for number, (asker, token) in enumerate(zip(askers, tokens))
                ))
                refused = sum(1 for status, _ in statuses if status != 200)

                def cards_in() -> list[dict]:
                    return [args for args in api.posted(head_channel)]

                await api.wait_until(lambda: len(_copies(cards_in(), tokens)) >= count, timeout=DELIVERY_TIMEOUT_S)
                await asyncio.sleep(ctx.scale(*SETTLE_S))
                copies = _copies(cards_in(), tokens)
                once = sum(1 for token in tokens if copies[token] == 1)
                missing = sum(1 for token in tokens if copies[token] == 0)
                extra = sum(max(0, copies[token] - 1) for token in tokens)
                rows = [Row(
                    "replicas postgres: notifications delivered once",
                    f"{count} questions to 2 replicas: {once} cards once, {missing} missing, {extra} extra copies",
                    held=once, lost=missing + extra, refused=refused,
                )]

                # The decisions: each submitted to both replicas at once.
                decided_once = undecided = twice = errors = 0
                answers_before = {asker: len(api.said(api.dm_channel(asker))) for asker in askers}
                cards = {token: next((args for args in cards_in() if token in json.dumps(args, ensure_ascii=False)), None) for token in tokens}
                submissions = []
                for number, token in enumerate(tokens):
                    card = cards[token]
                    button = s.buttons_in((card or {}).get("blocks") or []).get(actions.QUESTION_FINE)
                    if button is None:
                        errors += 1
                        continue
                    click = s.block_actions(user=HEADTEACHER, username=HEADTEACHER_NAME, channel=head_channel, message=card,
                                            button=button, response_url=api.response_url())
                    trigger = click["trigger_id"]
                    opened = api.next_call(lambda call, trigger=trigger: call.method == "views.open" and call.args.get("trigger_id") == trigger)
                    status, _ = await players[number % 2].interaction(click)
                    try:
                        view = (await asyncio.wait_for(opened, STEP_TIMEOUT_S)).args["view"]
                    except asyncio.TimeoutError:
                        errors += 1
                        continue
                    submissions.append((number, view))

                async def decide(number: int, view: dict) -> None:
                    first = s.view_submission(view=view, answers={}, user=HEADTEACHER, username=HEADTEACHER_NAME)
                    # Even: the same payload twice (a retry on the other replica); odd: two submissions.
                    second = first if number % 2 == 0 else s.view_submission(view=view, answers={}, user=HEADTEACHER,
                                                                              username=HEADTEACHER_NAME)
                    await asyncio.gather(players[0].interaction(first), players[1].interaction(second))

                await asyncio.gather(*(decide(number, view) for number, view in submissions))
                decided = {tokens[number] for number, _ in submissions}

                def answers_of(asker: str) -> int:
                    return len(api.said(api.dm_channel(asker))) - answers_before[asker]

                await api.wait_until(lambda: all(answers_of(askers[tokens.index(t)]) >= 1 for t in decided), timeout=DELIVERY_TIMEOUT_S)
                await asyncio.sleep(ctx.scale(*SETTLE_S))
                answered_rows = await s.count_rows(database_url, "escalation", where="status <> 'open'")
                for token in decided:
                    got = answers_of(askers[tokens.index(token)])
                    if got == 1:
                        decided_once += 1
                    elif got == 0:
                        undecided += 1
                    else:
                        twice += got - 1
                rows.append(Row(
                    "replicas postgres: decisions decided once",
                    f"{len(submissions)} decisions sent to both replicas at once: {decided_once} answered once, "
                    f"{undecided} never, {twice} extra answers; {answered_rows} escalations closed",
                    held=decided_once, lost=undecided + twice + errors + max(0, len(submissions) - answered_rows),
                ))
            ctx.audit.add(servers=replicas)
    return rows
