"""Modals, the App Home tab and attached files at the HTTP edge: signed requests to the running adapter,
with a stand-in core that answers with chosen replies (the flows are tested with the real core in
test_slack_reports.py)."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import pytest
from slack_harness import (
    BOT_TOKEN,
    PNG_BYTES,
    fixture,
    home_click_payload,
    serve_slack,
)

from bot.slack import app as slack_app
from bot.slack import render, translate
from handlers import actions
from handlers.messages import Button, Fact, Form, FormField, Reply

USER = "U0TEACHER1"
FORM = Form(
    form_id="report",
    title="Make a report",
    submit_label="Send",
    fields=(FormField(field_id="what_happened", label="What happened?", multiline=True),
            FormField(field_id="evidence", label="Screenshots", kind="files", required=False)),
)


class FakeCore:
    """Answers every message with the same replies, and the Home tab with `home_replies`. With `hold`, a
    message is answered only once the test releases it."""

    def __init__(self, *replies: Reply, home_replies: list[Reply] | None = None, hold: bool = False) -> None:
        self.replies = list(replies)
        self.home_replies = home_replies or [Reply(text="Home")]
        self.messages = []
        self.homes = []
        self.released = asyncio.Event()
        if not hold:
            self.released.set()

    async def handle(self, message):
        self.messages.append(message)
        await asyncio.wait_for(self.released.wait(), timeout=5)
        return list(self.replies)

    async def home(self, *, conversation):
        self.homes.append(conversation)
        return list(self.home_replies)


async def settle() -> None:
    await asyncio.sleep(0.2)


def submission(slack_api=None) -> dict:
    body = fixture("view_submission_report.json")
    if slack_api is not None:
        for entry in body["view"]["state"]["values"]["evidence"]["evidence"]["files"]:
            entry["url_private"] = slack_api.file_url(entry["url_private"])
            entry["url_private_download"] = slack_api.file_url(entry["url_private_download"])
    return body


async def submit(settings, fake, body=None):
    async with serve_slack(settings=settings, core=fake) as (slack, _adapter):
        status, text = await slack.interaction(body or submission())
    assert status == 200
    return json.loads(text) if text else None


async def test_form_errors_keep_the_modal_open(settings, slack_api):
    fake = FakeCore(Reply(text="", form=FORM, form_errors=(("what_happened", "Please say what happened."),)))
    ack = await submit(settings, fake)
    assert ack == {"response_action": "errors", "errors": {"what_happened": "Please say what happened."}}
    assert slack_api.answers() == []


async def test_an_answer_for_the_form_replaces_the_modal_and_only_the_rest_goes_to_the_dm(settings, slack_api):
    shown = Reply(text="Your case code: K7QP-3XMD\nYour secret: plum-river-stone", title="Report received", in_form=True)
    fake = FakeCore(shown, Reply(text="Thank you. I've passed it on.", private=True))
    ack = await submit(settings, fake)
    assert ack["response_action"] == "update"
    view = ack["view"]
    assert view["type"] == "modal" and "submit" not in view and view["close"]
    assert view["title"]["text"] == "Report received" and view["blocks"] == render.blocks(shown)
    [(method, posted)] = await slack_api.wait_for_answers(1)
    # The person's DM with the bot, addressed by their user id; a DM is private already (no ephemeral).
    assert (method, posted["channel"]) == ("chat.postMessage", USER)
    assert "K7QP-3XMD" not in json.dumps(posted) and "plum-river-stone" not in json.dumps(posted)
    [message] = fake.messages
    assert message.form.form_id == "report" and message.form_here


async def test_a_follow_up_form_is_shown_in_place(settings, slack_api):
    fake = FakeCore(Reply(text="That code and secret don't match.", form=FORM, in_form=True))
    ack = await submit(settings, fake)
    view = ack["view"]
    assert ack["response_action"] == "update" and view["callback_id"] == "report" and view["submit"]["text"] == "Send"
    assert "don't match" in view["blocks"][0]["text"]["text"] and view["blocks"][-1]["type"] == "input"
    await settle()
    assert slack_api.answers() == []


async def test_a_plain_answer_closes_the_modal_and_updates_messages_by_their_id(settings, slack_api):
    fake = FakeCore(
        Reply(text="Thanks"),
        Reply(text="Case handled", replaces_message_id="D0HEADDM1:1760000001.000900"),
        Reply(text="Old style id", replaces_message_id="1760000002.000100"),
    )
    assert await submit(settings, fake) is None  # an empty 200: the modal closes
    posted, updated, updated_in_dm = await slack_api.wait_for_answers(3)
    assert posted[0] == "chat.postMessage" and posted[1]["channel"] == USER
    assert updated[0] == "chat.update" and (updated[1]["channel"], updated[1]["ts"]) == ("D0HEADDM1", "1760000001.000900")
    assert (updated_in_dm[1]["channel"], updated_in_dm[1]["ts"]) == (USER, "1760000002.000100")


async def test_an_attached_screenshot_is_downloaded_with_the_bot_token(settings, slack_api):
    fake = FakeCore(Reply(text="", in_form=True, title="Received"))
    async with serve_slack(settings=settings, core=fake) as (slack, _adapter):
        assert (await slack.interaction(submission(slack_api)))[0] == 200
        [message] = fake.messages
        [screenshot] = message.form.files
        assert (screenshot.name, screenshot.mimetype, screenshot.size) == ("IMG_2041.png", "image/png", len(PNG_BYTES))
        assert slack_api.calls_to("file") == []  # downloaded only when a flow asks, after the answer
        assert await screenshot.fetch() == PNG_BYTES
    [download] = slack_api.calls_to("file")
    assert download == {"path": "/files-pri/T0SCHOOL1-F0SCREEN01/download/img_2041.png", "_authorization": f"Bearer {BOT_TOKEN}"}


async def test_files_slack_will_not_give_or_that_are_too_big_are_clear_errors(settings, slack_api, monkeypatch):
    url = slack_api.file_url("https://files.slack.com/files-pri/T0SCHOOL1-F0SCREEN01/download/img_2041.png")
    fake = FakeCore()
    async with serve_slack(settings=settings.model_copy(update={"slack_bot_token": "xoxb-not-allowed"}), core=fake) as (_, adapter):
        with pytest.raises(slack_app.SlackFileError, match="files:read") as refused:
            await adapter.download_file(url)
    async with serve_slack(settings=settings, core=fake) as (_, adapter):
        with pytest.raises(slack_app.SlackFileError) as elsewhere:
            await adapter.download_file("https://evil.example.org/files-pri/T0SCHOOL1-F0SCREEN01/img.png")
        monkeypatch.setattr(slack_app, "FILE_DOWNLOAD_MAX_BYTES", 10)
        with pytest.raises(slack_app.SlackFileError, match="larger") as too_big:
            await adapter.download_file(url)
        with pytest.raises(slack_app.SlackFileError) as unreachable:
            await adapter.download_file(url.replace(slack_api.url, "http://127.0.0.1:9"))
    # The token went to Slack's host only, and no error names the file.
    assert [call["_authorization"] for call in slack_api.calls_to("file")] == ["Bearer xoxb-not-allowed", f"Bearer {BOT_TOKEN}"]
    for error in (refused, elsewhere, too_big, unreachable):
        assert "F0SCREEN01" not in str(error.value) and "files-pri" not in str(error.value)


async def test_the_home_tab_is_published_for_the_person(settings, slack_api):
    home = Reply(text="Report something, or check on a report.", title="policybot",
                 buttons=(Button(label="Make a report", action_id=actions.START_REPORT, value="{}"),))
    fake = FakeCore(home_replies=[home])
    async with serve_slack(settings=settings, core=fake) as (slack, _adapter):
        assert (await slack.event(fixture("event_app_home_opened.json")))[0] == 200
        [(method, published)] = await slack_api.wait_for_answers(1)
        messages_tab = fixture("event_app_home_opened.json")
        messages_tab["event"]["tab"] = "messages"
        messages_tab["event_id"] = "Ev0MESSAGESTAB"
        assert (await slack.event(messages_tab))[0] == 200
        await settle()
    assert method == "views.publish" and published["user_id"] == USER
    assert published["view"] == {"type": "home", "blocks": render.blocks(home)}
    [conversation] = fake.homes
    assert (conversation.platform, conversation.conversation_id, conversation.user_id) == ("slack", USER, USER)
    assert len(slack_api.answers()) == 1


async def test_the_home_tab_shows_the_greeting_and_the_persons_items(settings, slack_api):
    greeting = Reply(text="Hello. Ask me anything about posting.", title="policybot")
    items = [Reply(text=f"Your question {n}: waiting for Mrs Patel", facts=(Fact(label="Asked", value="today"),),
                   buttons=(Button(label="Withdraw", action_id=actions.DASHBOARD, value=f'{{"item":{n}}}'),))
             for n in range(40)]
    fake = FakeCore(home_replies=[greeting, *items])
    async with serve_slack(settings=settings, core=fake) as (slack, _adapter):
        assert (await slack.event(fixture("event_app_home_opened.json")))[0] == 200
        [(method, published)] = await slack_api.wait_for_answers(1)
    assert method == "views.publish" and published["user_id"] == USER
    blocks = published["view"]["blocks"]
    assert published["view"] == render.home_view([greeting, *items])
    assert len(blocks) <= render.HOME_BLOCKS_MAX and blocks[:3] == [*render.blocks(greeting), {"type": "divider"}]
    assert blocks[-1]["type"] == "context" and "dashboard" in blocks[-1]["elements"][0]["text"]
    values = [element["value"] for block in blocks if block["type"] == "actions" for element in block["elements"]]
    assert values == [f'{{"item":{n}}}' for n in range(len(values))] and 0 < len(values) < len(items)


def shortcut_payload(name: str, slack_api) -> dict:
    """A message shortcut's payload whose response_url is the recording server's."""
    payload = fixture(name)
    payload["response_url"] = slack_api.hook_url(payload["response_url"])
    return payload


async def test_ask_for_this_to_be_removed_is_acknowledged_first_then_opens_the_flows_form(settings, slack_api):
    removal_form = Form(form_id=actions.REMOVAL_FORM, title="Ask for a removal", submit_label="Send",
                        fields=(FormField(field_id="why", label="Why should it come down?", multiline=True),
                                FormField(field_id="poster", label="Who posted it?", kind="person", initial="person:U0TEACHER2")))
    fake = FakeCore(Reply(text="", form=removal_form), hold=True)
    payload = shortcut_payload("shortcut_removal.json", slack_api)
    async with serve_slack(settings=settings, core=fake) as (slack, _adapter):
        started = time.monotonic()
        # The core has not answered yet: the acknowledgement must not wait for it.
        status, body = await slack.interaction(payload)
        assert (status, body) == (200, "") and time.monotonic() - started < 3
        [message] = fake.messages
        assert slack_api.answers() == []
        fake.released.set()
        [(method, opened)] = await slack_api.wait_for_answers(1)
    assert message == translate.removal_request(fixture("shortcut_removal.json"))
    assert message.click.action_id == actions.REMOVAL_START and message.trigger_id == payload["trigger_id"]
    assert actions.decode(message.click.value)["link"] == "https://greenfield-primary.slack.com/archives/C0STAFFROOM/p1760000250000400"
    assert method == "views.open" and opened["trigger_id"] == payload["trigger_id"]
    assert opened["view"] == render.modal(removal_form)
    poster = next(block for block in opened["view"]["blocks"] if block.get("block_id") == "poster")
    assert poster["element"] == {"type": "users_select", "action_id": "poster", "initial_user": "U0TEACHER2"}


async def test_a_private_answer_to_the_removal_shortcut_goes_to_the_presser_only(settings, slack_api):
    fake = FakeCore(Reply(text="Only staff can ask for that.", private=True))
    payload = shortcut_payload("shortcut_removal.json", slack_api)
    async with serve_slack(settings=settings, core=fake) as (slack, _adapter):
        assert (await slack.interaction(payload))[0] == 200
        [(method, answered)] = await slack_api.wait_for_answers(1)
    assert method == "response_url" and answered["response_type"] == "ephemeral"
    # The other message shortcut still reaches its own listener, as a question.
    fake = FakeCore(Reply(text="ok", private=True))
    async with serve_slack(settings=settings, core=fake) as (slack, _adapter):
        assert (await slack.interaction(shortcut_payload("shortcut_message_action.json", slack_api)))[0] == 200
        await slack_api.wait_for_answers(2)
    [question] = fake.messages
    assert question.click is None and question.text.startswith("Draft for my Facebook")


async def test_a_home_tab_button_opens_a_form_or_answers_in_the_dm(settings, slack_api):
    fake = FakeCore(Reply(text="", form=FORM), Reply(text="Only for you", private=True))
    async with serve_slack(settings=settings, core=fake) as (slack, _adapter):
        payload = home_click_payload(action_id=actions.START_REPORT, value="{}")
        assert (await slack.interaction(payload))[0] == 200
        (opened_method, opened), (posted_method, posted) = await slack_api.wait_for_answers(2)
    assert opened_method == "views.open" and opened["trigger_id"] == payload["trigger_id"]
    assert opened["view"] == render.modal(FORM)
    assert posted_method == "chat.postMessage" and posted["channel"] == USER
    [message] = fake.messages
    assert message.is_direct and message.form_here and not message.private


async def test_a_button_in_a_modal_answers_in_that_modal(settings, slack_api):
    shown = Reply(text="Noted. The secret is no longer shown.", in_form=True)
    fake = FakeCore(shown, Reply(text="", form=FORM))
    async with serve_slack(settings=settings, core=fake) as (slack, _adapter):
        payload = home_click_payload(action_id=actions.START_REPORT, modal=True)
        assert (await slack.interaction(payload))[0] == 200
        (updated_method, updated), (pushed_method, pushed) = await slack_api.wait_for_answers(2)
    assert updated_method == "views.update" and updated["view_id"] == "V0MODAL001" and updated["hash"] == "1760000520.MoDaL123"
    assert updated["view"] == render.form_view(shown)
    assert pushed_method == "views.push" and pushed["trigger_id"] == payload["trigger_id"] and pushed["view"]["callback_id"] == "report"


async def test_an_answer_meant_for_a_form_never_becomes_a_message(settings, slack_api):
    fake = FakeCore(Reply(text="Your secret: plum-river-stone", in_form=True))
    async with serve_slack(settings=settings, core=fake) as (slack, _adapter):
        await slack.event(fixture("event_message_im.json"))
        await settle()
    assert slack_api.answers() == []


async def test_nothing_that_identifies_the_person_is_logged(settings, slack_api, caplog):
    caplog.set_level(logging.DEBUG)
    fake = FakeCore(Reply(text="Case K7QP-3XMD", in_form=True), Reply(text="x", replaces_message_id="D0BOTDM01:1.2"))
    body = submission(slack_api)
    async with serve_slack(settings=settings, core=fake) as (slack, _adapter):
        await slack.interaction(body)
        await slack.event(fixture("event_app_home_opened.json"))
        await slack.interaction(home_click_payload(action_id=actions.START_REPORT))
        await slack_api.wait_for_answers(3)
        await fake.messages[0].form.files[0].fetch()
    assert caplog.records, "DEBUG logging was on"
    logged = caplog.text
    for secret in (USER, "T0SCHOOL1", "D0BOTDM01", "j.smith", body["trigger_id"], "F0SCREEN01", "files-pri",
                   "A parent keeps posting", "K7QP-3XMD", BOT_TOKEN):
        assert secret not in logged


async def test_an_error_for_a_field_the_modal_does_not_have_goes_on_its_first_input(settings, slack_api):
    body = submission()
    body["view"]["blocks"] = render.modal(FORM)["blocks"]
    fake = FakeCore(Reply(text="", form_errors=(("nope", "Something is wrong."), ("what_happened", "Say more."))))
    ack = await submit(settings, fake, body)
    assert ack == {"response_action": "errors", "errors": {"what_happened": "Something is wrong. Say more."}}
