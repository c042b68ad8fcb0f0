"""What the Teams adapter does with any neutral reply, checked against a scripted conversation core (the
real core's flows are covered in test_flows.py): card updates, in-place Action.Execute answers, forms,
private replies in channels, plain text."""

from __future__ import annotations

import pytest

from bot.server import build_app
from handlers.messages import Button, Form, FormField, IncomingMessage, Reply

from .conftest import RunningApp


class ScriptedCore:
    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.received: list[IncomingMessage] = []
        self.remembered = []

    async def handle(self, message: IncomingMessage) -> list[Reply]:
        self.received.append(message)
        return self.replies

    async def remember_conversation(self, *, ref) -> None:
        self.remembered.append(ref)

    def is_private_flow(self, message: IncomingMessage) -> bool:
        return self.private_flow

    private_flow = False


@pytest.fixture
def scripted():
    return ScriptedCore()


@pytest.fixture
async def scripted_bot(settings, scripted):
    running = await RunningApp(build_app(settings=settings, core=scripted)).start()
    yield running
    await running.close()


async def test_a_reply_that_replaces_a_card_updates_it(scripted_bot, scripted, connector, activity):
    scripted.replies = [Reply(text="Sent to Mrs Patel.", title="Sent", replaces_message_id="card-7")]

    await scripted_bot.post_activity(activity("action_submit", replyToId="card-7", value={"action_id": "x", "value": "1"}))

    update = (await connector.wait_for(1))[0]
    assert update.method == "PUT"
    assert update.path.endswith("/activities/card-7")
    assert "actions" not in update.card  # the buttons are gone
    click = scripted.received[0].click
    assert (click.action_id, click.value, click.message_id) == ("x", "1", "card-7")


async def test_action_execute_replacing_the_card_answers_with_the_new_card(scripted_bot, scripted, connector, activity):
    scripted.replies = [Reply(text="Thanks for the feedback.", title="Thanks", replaces_message_id="card-9")]
    invoke = activity(
        "invoke_action_execute",
        replyToId="card-9",
        value={"action": {"type": "Action.Execute", "verb": "policybot.feedback_helpful", "data": {"action_id": "policybot.feedback_helpful", "value": "{}"}}},
    )

    response = await scripted_bot.post_activity(invoke)

    body = await response.json()
    assert response.status == 200
    assert body["type"] == "application/vnd.microsoft.card.adaptive"
    assert body["value"]["body"][0]["text"] == "Thanks"
    assert connector.calls == []


async def test_execute_buttons_when_configured(tmp_path, scripted, connector, activity):
    from .conftest import local_settings

    settings = local_settings(tmp_path, teams_card_actions="execute")
    scripted.replies = [Reply(text="Answer", title="Title", buttons=(Button(label="Ask", action_id="policybot.ask_headteacher", value="{}"),))]
    running = await RunningApp(build_app(settings=settings, core=scripted)).start()
    try:
        await running.post_activity(activity("message_personal"))
        card = (await connector.wait_for(1))[0].card
    finally:
        await running.close()

    assert card["actions"] == [
        {"type": "Action.Execute", "title": "Ask", "verb": "policybot.ask_headteacher", "data": {"action_id": "policybot.ask_headteacher", "value": "{}"}}
    ]


async def test_a_form_is_a_card_whose_submission_becomes_a_form_submission(scripted_bot, scripted, connector, activity):
    form = Form(
        form_id="report",
        title="Report anonymously",
        submit_label="Send report",
        fields=(FormField(field_id="what", label="What happened?", multiline=True),),
        private_metadata="case:new",
    )
    scripted.replies = [Reply(text="", form=form)]
    await scripted_bot.post_activity(activity("message_personal"))
    card = (await connector.wait_for(1))[0].card
    field = next(item for item in card["body"] if item["type"] == "Input.Text")
    submit = card["actions"][-1]
    assert (field["id"], field["isMultiline"], field["isRequired"]) == ("what", True, True)
    assert submit["data"] == {"form_id": "report", "private_metadata": "case:new"}

    scripted.replies = []
    await scripted_bot.post_activity(
        activity("action_submit", id="form-1", replyToId="connector-activity-1", value={**submit["data"], "what": "A parent posted about me"})
    )

    submission = scripted.received[-1].form
    assert (submission.form_id, submission.values, submission.private_metadata) == (
        "report",
        {"what": "A parent posted about me"},
        "case:new",
    )


async def test_a_private_reply_in_a_channel_is_targeted_at_the_sender(scripted_bot, scripted, connector, activity):
    scripted.replies = [Reply(text="Sorry, that button no longer works.", private=True)]

    await scripted_bot.post_activity(activity("message_channel_mention"))

    sent = (await connector.wait_for(1))[0].body
    assert sent["text"] == "Sorry, that button no longer works."
    assert "attachments" not in sent
    assert sent["recipient"]["id"] == "29:1a2b3c4d5e6f-staff-member"
    assert any(entity.get("treatment") == "targeted" for entity in sent["entities"])


async def test_the_message_the_core_gets_from_a_channel(scripted_bot, scripted, activity):
    await scripted_bot.post_activity(activity("message_channel_mention"))

    message = scripted.received[0]
    assert message.text == "can I post my class's photos on my personal Instagram?"
    assert message.is_direct is False
    assert message.conversation.platform == "teams"
    assert message.conversation.user_id == "29:1a2b3c4d5e6f-staff-member"
    assert message.event_id.startswith("1795609100123@")


async def test_a_failing_turn_says_sorry_without_details(scripted_bot, scripted, connector, activity):
    async def broken(message):
        raise RuntimeError("database password is hunter2")

    scripted.handle = broken

    await scripted_bot.post_activity(activity("message_personal"))

    sent = (await connector.wait_for(1))[0].body
    assert "hunter2" not in str(sent)
    assert "something went wrong" in sent["text"]


async def test_replies_back_off_and_retry_when_the_connector_is_busy(scripted_bot, scripted, connector, activity):
    scripted.replies = [Reply(text="An answer")]
    connector.fail_with = [429, 502]

    response = await scripted_bot.post_activity(activity("message_personal"))

    assert response.status == 202
    assert [call.status for call in connector.calls] == [429, 502, 200]


async def test_replies_reuse_one_connection_to_the_connector(scripted_bot, scripted, connector, activity):
    scripted.replies = [Reply(text="An answer")]

    for number in range(3):
        await scripted_bot.post_activity(activity("message_personal", id=f"message-{number}"))

    assert len(connector.calls) == 3
    assert len({call.client_port for call in connector.calls}) == 1
