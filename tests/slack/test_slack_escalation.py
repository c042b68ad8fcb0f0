"""Ask the headteacher on Slack, end to end at the HTTP edge: a signed click, the escalation and its
notification in the database, then the outbox worker's DM to the headteacher at the recording Web API."""

from __future__ import annotations

import pytest
from slack_harness import buttons_in, click_payload, fixture, shown
from sqlmodel import func, select

from bot.server import OutboxWorker, ServerPlan
from bot.slack.notify import SlackNotifier
from handlers import actions, decision_texts, texts
from storage import repository as repo
from storage.models import Escalation, Notification

HEADTEACHER = "U0HEAD01"
HEADTEACHER_DM = "D0HEADDM1"
# A question that pings the whole channel and a person, were it not escaped.
QUESTION = "Can I post photos of my class <!channel> & tag <@U0OTHER> on Instagram?"
HOOK = "https://hooks.slack.com/actions/T0SCHOOL1/3333333333/abcdefACTION"


@pytest.fixture
def dm_channels():
    return {HEADTEACHER: HEADTEACHER_DM}


async def count(core, model) -> int:
    async with core.database.transaction() as session:
        return (await session.exec(select(func.count()).select_from(model))).one()


async def assign_headteacher(core) -> None:
    async with core.database.transaction() as session:
        await repo.assign_role(session=session, role=repo.HEADTEACHER, platform="slack", user_id=HEADTEACHER)


async def answer_in_dm(slack, slack_api) -> dict:
    payload = fixture("event_message_im.json")
    payload["event"]["text"] = QUESTION
    status, _ = await slack.event(payload)
    assert status == 200
    [(method, answer)] = await slack_api.wait_for_answers(1)
    assert method == "chat.postMessage"
    return answer


async def press(slack, slack_api, answer: dict, *, trigger_id: str, user: str = "U0TEACHER1", answers: int) -> tuple[str, dict]:
    payload = click_payload(button=buttons_in(answer["blocks"])[actions.ASK_HEADTEACHER], response_url=slack_api.hook_url(HOOK), trigger_id=trigger_id)
    payload["user"]["id"] = user
    status, _ = await slack.interaction(payload)
    assert status == 200
    return (await slack_api.wait_for_answers(answers))[-1]


async def test_asking_the_headteacher_reaches_them_as_a_dm(slack, slack_api, core, settings):
    await assign_headteacher(core)
    answer = await answer_in_dm(slack, slack_api)

    method, confirmation = await press(slack, slack_api, answer, trigger_id="t-1", answers=2)
    # The answer is replaced, through its response_url, so the button cannot be pressed again.
    assert method == "response_url" and confirmation["replace_original"] is True
    assert texts.ASK_HEADTEACHER_SENT_TITLE.format(headteacher="Mrs Patel") in shown(confirmation["blocks"])
    assert not buttons_in(confirmation["blocks"])
    assert await count(core, Escalation) == 1 and await count(core, Notification) == 1

    worker = OutboxWorker(settings=settings, core=core, plan=ServerPlan(local_mode=False, teams=False, slack=True, host="127.0.0.1", port=0))
    try:
        assert set(worker.senders) == {"slack"}
        assert await worker.dispatcher.run_once() == 1
    finally:
        await worker.stop()

    *_, (open_method, opened), (post_method, message) = slack_api.answers()
    assert (open_method, opened["users"]) == ("conversations.open", HEADTEACHER)
    assert (post_method, message["channel"]) == ("chat.postMessage", HEADTEACHER_DM)
    text = shown(message["blocks"])
    assert "Can I post photos of my class &lt;!channel&gt; &amp; tag &lt;@U0OTHER&gt; on Instagram?" in text
    assert "<!channel>" not in str(message) and "<@U0OTHER>" not in str(message)
    assert f"*{texts.ASKED_BY}*\n<@U0TEACHER1>" in text  # who asked, as Slack shows a person
    assert "No, the policy doesn't allow this" in text  # the verdict
    async with core.database.transaction() as session:
        assert await repo.count_pending_notifications(session=session) == 0


async def test_a_second_press_sends_nothing_more(slack, slack_api, core):
    await assign_headteacher(core)
    answer = await answer_in_dm(slack, slack_api)
    await press(slack, slack_api, answer, trigger_id="t-1", answers=2)
    _, again = await press(slack, slack_api, answer, trigger_id="t-2", answers=3)
    assert texts.ASK_HEADTEACHER_ALREADY_SENT.format(headteacher="Mrs Patel") in shown(again["blocks"])
    assert await count(core, Escalation) == 1 and await count(core, Notification) == 1


async def test_someone_else_pressing_is_refused_privately(slack, slack_api, core):
    await assign_headteacher(core)
    answer = await answer_in_dm(slack, slack_api)
    method, refused = await press(slack, slack_api, answer, trigger_id="t-1", user="U0SOMEONE", answers=2)
    assert texts.ASK_HEADTEACHER_NOT_YOURS.format(headteacher="Mrs Patel") in shown(refused["blocks"])
    assert refused.get("replace_original") is not True
    assert await count(core, Escalation) == 0 and await count(core, Notification) == 0


async def test_no_headteacher_set_up_is_said_honestly(slack, slack_api, core):
    answer = await answer_in_dm(slack, slack_api)
    _, reply = await press(slack, slack_api, answer, trigger_id="t-1", answers=2)
    assert decision_texts.ASK_NO_DECIDER.format(headteacher="Mrs Patel") in shown(reply["blocks"])
    assert await count(core, Escalation) == 0 and await count(core, Notification) == 0


async def test_a_slack_error_keeps_the_notification_pending_with_the_reason(slack_api, core, settings):
    await assign_headteacher(core)
    async with core.database.transaction() as session:
        await repo.create_escalation(
            session=session, requester=repo.Actor(role="staff", platform="slack", user_id="U0TEACHER1"), question="Can I?", verdict="info"
        )
    notifier = SlackNotifier(settings=settings.model_copy(update={"slack_api_url": "http://127.0.0.1:9/api/"}))
    worker = OutboxWorker(settings=settings, core=core, plan=ServerPlan(local_mode=False, teams=False, slack=True, host="127.0.0.1", port=0))
    await worker.senders["slack"].close()
    worker.senders["slack"] = notifier
    try:
        assert await worker.dispatcher.run_once() == 0
    finally:
        await worker.stop()
    async with core.database.transaction() as session:
        [row] = (await session.exec(select(Notification))).all()
    assert row.status == "pending" and row.last_error and "Can I?" not in row.last_error
