"""Ask the headteacher on Teams, end to end at the HTTP edge: a card click posted to /api/messages, the
escalation and its notification in the database, then the outbox worker's proactive card to the
headteacher through their stored conversation reference, at the recording connector."""

from __future__ import annotations

from sqlmodel import func, select

from bot.server import OutboxWorker, ServerPlan
from handlers import decision_texts, texts
from storage import repository as repo
from storage.models import Escalation, Notification

from .test_flows import QUESTION, action_titled, ask, card_texts

HEADTEACHER = "29:head-teacher-id"
HEADTEACHER_CHAT = "a:head-teacher-one-to-one"
TEAMS_ONLY = ServerPlan(local_mode=True, teams=True, slack=False, host="127.0.0.1", port=0)


async def count(core, model) -> int:
    async with core.database.transaction() as session:
        return (await session.exec(select(func.count()).select_from(model))).one()


async def headteacher_says_hello(bot, activity) -> None:
    """The headteacher's first chat with the bot stores the reference a proactive message needs."""
    hello = activity(
        "message_personal",
        id="head-hello",
        text="hello",
        conversation={"conversationType": "personal", "id": HEADTEACHER_CHAT, "tenantId": "00000000-0000-0000-0000-0000000000001"},
        **{"from": {"id": HEADTEACHER, "name": "Mrs Patel"}},
    )
    assert (await bot.post_activity(hello)).status == 202


async def assign_headteacher(core) -> None:
    async with core.database.transaction() as session:
        await repo.assign_role(session=session, role=repo.HEADTEACHER, platform="teams", user_id=HEADTEACHER)


async def press_ask(bot, connector, activity, answer, *, click_id: str, user: str = "user-id-0", name: str | None = None):
    button = action_titled(answer.card, texts.ASK_HEADTEACHER_BUTTON)
    before = len(connector.calls)
    sender = {"id": user, **({"name": name} if name is not None else {})}
    click = activity("action_submit", id=click_id, replyToId="connector-activity-1", value=button["data"], **{"from": sender})
    assert (await bot.post_activity(click)).status == 202
    return (await connector.wait_for(before + 1))[before]


async def deliver(settings, core) -> int:
    worker = OutboxWorker(settings=settings, core=core, plan=TEAMS_ONLY)
    try:
        return await worker.dispatcher.run_once()
    finally:
        await worker.stop()


async def test_asking_the_headteacher_reaches_them_as_a_proactive_card(bot, connector, activity, core, settings):
    await assign_headteacher(core)
    await headteacher_says_hello(bot, activity)
    answer = await ask(bot, connector, activity)  # the asker is user-id-0
    confirmation = await press_ask(bot, connector, activity, answer, click_id="click-1")
    assert confirmation.method == "PUT"  # the answer card, updated so its button is gone
    assert await count(core, Escalation) == 1 and await count(core, Notification) == 1

    before = len(connector.calls)
    assert await deliver(settings, core) == 1
    [sent] = connector.calls[before:]
    assert sent.method == "POST" and f"/v3/conversations/{HEADTEACHER_CHAT}/activities" in sent.path
    assert sent.body["recipient"]["id"] == HEADTEACHER
    shown = " ".join(card_texts(sent.card))
    assert decision_texts.QUESTION_TITLES["post"].format(asker=decision_texts.SOMEONE) in shown and QUESTION in shown
    facts = {fact["title"]: fact["value"] for item in sent.card["body"] if item["type"] == "FactSet" for fact in item["facts"]}
    assert facts[decision_texts.FACT_ADVISOR].endswith("No, the policy doesn't allow this")
    assert "user-id-0" in facts[texts.ASKED_BY]
    async with core.database.transaction() as session:
        assert await repo.count_pending_notifications(session=session) == 0


async def test_the_headteacher_sees_who_asked_by_the_name_teams_gave_escaped(bot, connector, activity, core, settings):
    await assign_headteacher(core)
    await headteacher_says_hello(bot, activity)
    answer = await ask(bot, connector, activity)
    await press_ask(bot, connector, activity, answer, click_id="click-1", name="*Bob* [x](http://evil)")

    before = len(connector.calls)
    assert await deliver(settings, core) == 1
    [sent] = connector.calls[before:]
    facts = {fact["title"]: fact["value"] for item in sent.card["body"] if item["type"] == "FactSet" for fact in item["facts"]}
    assert facts[texts.ASKED_BY] == "\\*Bob\\* \\[x\\]\\(http:\u2060//evil\\)"  # shows as typed, links nowhere
    assert "user-id-0" not in facts[texts.ASKED_BY]


async def test_a_headteacher_without_a_stored_conversation_is_retried_later(bot, connector, activity, core, settings):
    await assign_headteacher(core)  # but they have never talked to the bot
    answer = await ask(bot, connector, activity)
    await press_ask(bot, connector, activity, answer, click_id="click-1")

    before = len(connector.calls)
    assert await deliver(settings, core) == 0
    assert connector.calls[before:] == []
    async with core.database.transaction() as session:
        [row] = (await session.exec(select(Notification))).all()
    assert row.status == "pending" and "open a chat with policybot" in row.last_error
    assert QUESTION not in row.last_error


async def test_a_second_click_and_someone_elses_click_queue_nothing_more(bot, connector, activity, core):
    await assign_headteacher(core)
    answer = await ask(bot, connector, activity)
    refused = await press_ask(bot, connector, activity, answer, click_id="click-0", user="someone-else")
    assert refused.method == "POST"
    assert refused.body["text"] == texts.ASK_HEADTEACHER_NOT_YOURS.format(headteacher="Mrs Patel")
    await press_ask(bot, connector, activity, answer, click_id="click-1")
    again = await press_ask(bot, connector, activity, answer, click_id="click-2")
    assert again.body["text"] == texts.ASK_HEADTEACHER_ALREADY_SENT.format(headteacher="Mrs Patel")
    assert await count(core, Escalation) == 1 and await count(core, Notification) == 1


async def test_no_headteacher_set_up_queues_nothing(bot, connector, activity, core):
    answer = await ask(bot, connector, activity)
    reply = await press_ask(bot, connector, activity, answer, click_id="click-1")
    assert reply.body["text"] == decision_texts.ASK_NO_DECIDER.format(headteacher="Mrs Patel")
    assert await count(core, Escalation) == 0 and await count(core, Notification) == 0


async def test_serve_runs_the_outbox_worker_and_stops_it(tmp_path, connector, activity):
    """`policybot serve` (local mode: Teams only) delivers a click's question without anything else
    running it, and stops cleanly."""
    import asyncio

    from bot.server import build_app, serve
    from handlers.core import ConversationCore

    from .conftest import RunningApp, local_settings
    from .test_serve import free_port

    port = free_port()
    settings = local_settings(tmp_path, port=port)
    # Set up as an administrator and the two people would have: a headteacher who has talked to the bot.
    setup = await ConversationCore.start(settings=settings)
    try:
        await assign_headteacher(setup)
        bot = await RunningApp(build_app(settings=settings, core=setup)).start()
        await headteacher_says_hello(bot, activity)
        answer = await ask(bot, connector, activity)
        await press_ask(bot, connector, activity, answer, click_id="click-1")
        await bot.close()
    finally:
        await setup.close()

    before = len(connector.calls)
    stop = asyncio.Event()
    server = asyncio.create_task(serve(settings, with_emulator=False, stop=stop))
    try:
        await connector.wait_for(before + 1, timeout=10)
    finally:
        # Stopped at once, most likely while the worker is still inside the send: it must end promptly.
        stop.set()
        await asyncio.wait_for(server, 2)
    [sent] = connector.calls[before:]
    assert QUESTION in " ".join(card_texts(sent.card))
    assert not [task for task in asyncio.all_tasks() if task.get_name() == "policybot-outbox"]
