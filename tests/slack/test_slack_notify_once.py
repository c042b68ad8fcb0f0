"""A Slack notification is posted once even when the process that posted it died before the outbox
confirmed it: each message carries its notification's key as message metadata, and a sender looks for
that key in the DM's recent history before posting."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest
from sqlmodel import func, select
from web_api_history import SlackApiWithHistory

from bot.slack.notify import SlackNotifier
from storage import repository as repo
from storage.delivery import OutboxDispatcher
from storage.models import Notification
from storage.repository import outbox

HEADTEACHER = "U0HEAD01"
HEADTEACHER_DM = "D0HEADDM1"
SECOND_HEAD = "U0HEAD02"  # a co-headteacher: the role has two holders
SECOND_HEAD_DM = "D0HEADDM2"
SHORT_LEASE_SECONDS = 0.5
# Pinned: messages already in DMs carry it, so renaming it would make their notifications look unsent.
EVENT_TYPE = "policybot_notification"


@pytest.fixture
def dm_channels():
    return {HEADTEACHER: HEADTEACHER_DM, SECOND_HEAD: SECOND_HEAD_DM}


@pytest.fixture
async def slack_api(dm_channels):
    api = SlackApiWithHistory(dm_channels=dm_channels)
    await api.start()
    yield api
    await api.stop()


async def queue_question(core, question: str = "Can I share the sports day photos?") -> int:
    """A question for the headteacher, queued as one outbox notification; returns its id."""
    async with core.database.transaction() as session:
        await repo.assign_role(session=session, role=repo.HEADTEACHER, platform="slack", user_id=HEADTEACHER)
        before = await repo.count_pending_notifications(session=session)
        await repo.create_escalation(
            session=session, requester=repo.Actor(role="staff", platform="slack", user_id="U0TEACHER1"), question=question, verdict="info"
        )
        assert await repo.count_pending_notifications(session=session) == before + 1
        return (await session.exec(select(func.max(Notification.id)))).one()


async def wait_for_posts(slack_api, count: int, *, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while len(slack_api.calls_to("chat.postMessage")) < count:
            await asyncio.sleep(0.01)


async def deliver_and_die(core, settings, slack_api) -> None:
    """A worker that posts the DM and is killed before it confirms: its lease is left to run out."""
    notifier = SlackNotifier(settings=settings)
    killed = asyncio.Event()

    async def send_then_hang(notification) -> None:
        await core.deliver(notification, senders={"slack": notifier})
        await killed.wait()  # never set: the process is gone before mark_delivered

    dispatcher = OutboxDispatcher(db=core.database, send=send_then_hang, lease_seconds=SHORT_LEASE_SECONDS)
    worker = asyncio.create_task(dispatcher.run_once())
    try:
        await wait_for_posts(slack_api, 1)
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        await notifier.close()


async def deliver_with_a_new_worker(core, settings) -> int:
    notifier = SlackNotifier(settings=settings)
    try:
        dispatcher = OutboxDispatcher(db=core.database, send=lambda notification: core.deliver(notification, senders={"slack": notifier}))
        return await dispatcher.run_once()
    finally:
        await notifier.close()


async def test_a_dm_posted_but_not_confirmed_is_not_posted_again(core, settings, slack_api):
    notification_id = await queue_question(core)
    await deliver_and_die(core, settings, slack_api)
    async with core.database.transaction() as session:
        assert (await repo.get_notification(session=session, notification_id=notification_id)).status == "pending"

    await asyncio.sleep(SHORT_LEASE_SECONDS * 1.5)  # the dead worker's lease runs out
    assert await deliver_with_a_new_worker(core, settings) == 1

    assert len(slack_api.calls_to("chat.postMessage")) == 1
    [lookup, *_] = slack_api.calls_to("conversations.history")
    assert lookup["channel"] == HEADTEACHER_DM and lookup["include_all_metadata"] in ("1", "true")
    async with core.database.transaction() as session:
        stored = await repo.get_notification(session=session, notification_id=notification_id)
    assert (stored.status, stored.attempts) == ("delivered", 2)


async def test_a_dm_whose_answer_was_lost_is_not_posted_again_at_the_retry(core, settings, slack_api, monkeypatch):
    notification_id = await queue_question(core)
    slack_api.lose_next_post_answer()
    assert await deliver_with_a_new_worker(core, settings) == 0  # counted as failed, kept to try again
    assert len(slack_api.calls_to("chat.postMessage")) == 1

    retry_due = outbox.utcnow() + outbox.RETRY_BASE + timedelta(seconds=1)
    monkeypatch.setattr(outbox, "utcnow", lambda: retry_due)
    assert await deliver_with_a_new_worker(core, settings) == 1
    assert len(slack_api.calls_to("chat.postMessage")) == 1
    async with core.database.transaction() as session:
        stored = await repo.get_notification(session=session, notification_id=notification_id)
    assert (stored.status, stored.attempts) == ("delivered", 2)


async def test_a_retry_for_one_holder_of_a_role_is_not_a_repeat_for_the_other(core, settings, slack_api, monkeypatch):
    async with core.database.transaction() as session:
        await repo.assign_role(session=session, role=repo.HEADTEACHER, platform="slack", user_id=SECOND_HEAD)
    await queue_question(core)
    slack_api.refuse("conversations.open", "ratelimited")  # whichever holder comes first fails this time
    assert await deliver_with_a_new_worker(core, settings) == 0
    assert len(slack_api.calls_to("chat.postMessage")) == 1

    retry_due = outbox.utcnow() + outbox.RETRY_BASE + timedelta(seconds=1)
    monkeypatch.setattr(outbox, "utcnow", lambda: retry_due)
    assert await deliver_with_a_new_worker(core, settings) == 1
    posted_to = sorted(message["channel"] for message in slack_api.calls_to("chat.postMessage"))
    assert posted_to == [HEADTEACHER_DM, SECOND_HEAD_DM]


async def test_each_message_carries_its_notification_key_as_metadata(core, settings, slack_api):
    notification_id = await queue_question(core)
    assert await deliver_with_a_new_worker(core, settings) == 1
    [message] = slack_api.calls_to("chat.postMessage")
    assert message["metadata"] == {
        "event_type": EVENT_TYPE,
        "event_payload": {"delivery_key": f"notification-{notification_id}"},
    }
    assert message["blocks"] and message["text"]  # the rendered message is unchanged around it


async def test_another_notification_already_in_the_dm_does_not_stop_this_one(core, settings, slack_api):
    await queue_question(core, "Can I share the sports day photos?")
    assert await deliver_with_a_new_worker(core, settings) == 1
    await queue_question(core, "Can I post about the school trip?")
    assert await deliver_with_a_new_worker(core, settings) == 1
    first, second = slack_api.calls_to("chat.postMessage")
    assert first["metadata"]["event_payload"] != second["metadata"]["event_payload"]


async def test_a_dm_history_slack_will_not_show_means_posting_rather_than_withholding(core, settings, slack_api, caplog):
    # A workspace that installed the app before it asked for im:history: a repeat is better than silence.
    await queue_question(core)
    slack_api.refuse("conversations.history", "missing_scope")
    with caplog.at_level(logging.DEBUG, logger="bot.slack.notify"):
        assert await deliver_with_a_new_worker(core, settings) == 1
    assert len(slack_api.calls_to("chat.postMessage")) == 1
    [said] = [record.getMessage() for record in caplog.records if record.name == "bot.slack.notify"]
    assert "missing_scope" in said and HEADTEACHER not in said and HEADTEACHER_DM not in said


@pytest.mark.parametrize("failure, said", [(500, "HTTP 500"), ("internal_error", "internal_error")])
async def test_a_lookup_slack_fails_to_answer_keeps_the_notification_pending(core, settings, slack_api, failure, said):
    # An outage says nothing about what the DM holds, and the post would most likely fail too: try later.
    notification_id = await queue_question(core)
    slack_api.refuse("conversations.history", failure)
    assert await deliver_with_a_new_worker(core, settings) == 0
    assert slack_api.calls_to("chat.postMessage") == []
    async with core.database.transaction() as session:
        stored = await repo.get_notification(session=session, notification_id=notification_id)
    assert stored.status == "pending" and said in stored.last_error
