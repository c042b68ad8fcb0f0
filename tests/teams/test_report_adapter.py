"""What the Teams adapter does for the report flow, against a scripted conversation core: answers shown in
the submitted form's card, errors on the form, lock-screen summaries, attached pictures and files and
their downloads, and the privacy of a reporter's messages (no conversation reference, no ids in logs)."""

from __future__ import annotations

import asyncio
import base64
import logging
from dataclasses import replace

import pytest
from aiohttp import web

from bot.server import build_app
from bot.teams import files as teams_files
from bot.teams.files import FileDownloader, FileTooLarge, FileUnavailable, may_carry_token
from bot.teams.cards import EMPTY_CHOICE_VALUE
from bot.teams.notify import card_activity
from bot.teams.translate import FileSource
from handlers import texts as conversation_texts
from handlers.messages import Button, ConversationRef, Fact, Form, FormField, Reply

from .conftest import RunningApp
from .test_adapter import ScriptedCore
from .test_flows import card_texts, shown

SECRET = "plum-otter-42-vivid"
CONFIRMATION = Reply(
    text=f"Keep these safe.\nCase code: K7QP-3XMD\nSecret: {SECRET}",
    title="Report sent: case K7QP-3XMD",
    buttons=(Button(label="I've noted it", action_id="policybot.noted_secret", value='{"code":"K7QP-3XMD"}'),),
    in_form=True,
    private=True,
)
FORM = Form(
    form_id="policybot.report_form",
    title="Report",
    submit_label="Send report",
    fields=(FormField("what", "What happened?", multiline=True), FormField("where", "Where?", required=False)),
)
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==")


@pytest.fixture
def scripted():
    return ScriptedCore()


@pytest.fixture
async def scripted_bot(settings, scripted):
    running = await RunningApp(build_app(settings=settings, core=scripted)).start()
    yield running
    await running.close()


def submission(activity, *, card_id: str = "form-card-1", activity_id: str = "submit-1", **values):
    data = {"form_id": FORM.form_id, "private_metadata": "", **values}
    return activity("action_submit", id=activity_id, replyToId=card_id, value=data)


# --- Answers shown in the form --------------------------------------------------------------------------

async def test_an_answer_to_a_form_replaces_the_form_card_and_is_never_a_new_message(scripted_bot, scripted, connector, activity):
    scripted.replies = [CONFIRMATION]

    await scripted_bot.post_activity(submission(activity, what="A parent posted about me"))

    [update] = await connector.wait_for(1)
    assert update.method == "PUT" and update.path.endswith("/activities/form-card-1")
    assert SECRET in " ".join(card_texts(update.card))
    assert connector.messages() == []
    form = scripted.received[0].form
    assert (form.message_id, form.values["what"], form.files) == ("form-card-1", "A parent posted about me", ())


async def test_form_errors_redraw_the_form_in_its_card(scripted_bot, scripted, connector, activity):
    typed = replace(FORM, fields=(FormField("what", "What happened?", initial=""), FormField("where", "Where?", required=False, initial="Facebook")))
    scripted.replies = [Reply(text="", form=typed, form_errors=(("what", "Please say what happened."),), private=True)]

    await scripted_bot.post_activity(submission(activity, what="", where="Facebook"))

    [update] = await connector.wait_for(1)
    assert update.method == "PUT" and update.path.endswith("/activities/form-card-1")
    assert update.card["body"][1]["text"] == "Please say what happened." and update.card["body"][1]["color"] == "Attention"
    assert next(item for item in update.card["body"] if item.get("id") == "where")["value"] == "Facebook"


async def test_the_noted_button_replaces_the_card_it_is_on(scripted_bot, scripted, connector, activity):
    scripted.replies = [Reply(text="Case code: K7QP-3XMD.", title="Report sent", in_form=True)]

    await scripted_bot.post_activity(activity("action_submit", id="noted-1", replyToId="form-card-1", value={"action_id": "policybot.noted_secret", "value": "{}"}))

    [update] = await connector.wait_for(1)
    assert update.method == "PUT" and update.path.endswith("/activities/form-card-1")


async def test_when_the_card_cannot_be_updated_the_answer_still_arrives_and_the_log_says_nothing_of_it(
    scripted_bot, scripted, connector, activity, caplog
):
    caplog.set_level(logging.DEBUG)
    scripted.replies = [CONFIRMATION]
    connector.fail_with = [404]  # the card was deleted

    await scripted_bot.post_activity(submission(activity, what="A parent posted about me"))

    failed, sent = await connector.wait_for(2)
    assert (failed.method, failed.status, sent.method) == ("PUT", 404, "POST")
    assert SECRET in " ".join(card_texts(sent.card))  # the reporter must get their code
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING and record.name.startswith("bot.teams")]
    assert warnings and "new message" in warnings[0].getMessage()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for private in (SECRET, "K7QP-3XMD", "A parent posted", "e71fcc26-7094-4efb-b6a4-577c8c587b86", "user-id-0", "form-card-1"):
        assert private not in logged


async def test_an_answer_to_an_execute_click_comes_back_in_the_invoke_response(scripted_bot, scripted, connector, activity):
    scripted.replies = [Reply(text="Case code: K7QP-3XMD.", title="Report sent", in_form=True)]
    invoke = activity(
        "invoke_action_execute",
        replyToId="form-card-1",
        value={"action": {"type": "Action.Execute", "verb": "policybot.noted_secret", "data": {"action_id": "policybot.noted_secret", "value": "{}"}}},
    )

    response = await scripted_bot.post_activity(invoke)

    body = await response.json()
    assert body["type"] == "application/vnd.microsoft.card.adaptive"
    assert "Report sent" in card_texts(body["value"])
    assert connector.calls == []


async def test_notification_text_is_the_lock_screen_summary(scripted_bot, scripted, connector, activity):
    scripted.replies = [Reply(text="Your report about the parent is saved.", notification_text="policybot has an update")]

    await scripted_bot.post_activity(activity("message_personal"))

    [sent] = await connector.wait_for(1)
    assert sent.body["summary"] == "policybot has an update"
    assert "text" not in sent.body  # a plain message would show its words in the notification
    assert "Your report about the parent is saved." in card_texts(sent.card)


def test_a_proactive_card_has_the_replys_notification_text_as_its_summary():
    reply = Reply(text="Kind: harassment. Summary: …", title="New report", facts=(Fact("Kind", "Harassment"),), notification_text="A new report needs your attention")

    activity = card_activity(reply)

    assert activity.summary == "A new report needs your attention"


# --- Who asked, in a proactive card ------------------------------------------------------------------------

def asked_by_fact(activity) -> str:
    card = activity.attachments[0].content
    facts = {fact["title"]: fact["value"] for item in card["body"] if item["type"] == "FactSet" for fact in item["facts"]}
    return facts[conversation_texts.ASKED_BY]


def asked_by(platform: str = "teams", user_id: str = "29:bob", name: str = "") -> Reply:
    """A card whose "Asked by" names a person (`Fact.person`), as the flows' cards do."""
    person = ConversationRef(platform=platform, conversation_id="", user_id=user_id, user_name=name)
    return Reply(text="A member of staff is asking you", title="Question",
                 facts=(Fact(conversation_texts.ASKED_BY, name, person=person),))


def test_a_card_names_who_asked_by_the_name_they_had_when_they_wrote():
    assert asked_by_fact(card_activity(asked_by(name="Bob Smith"))) == "Bob Smith"
    assert asked_by_fact(card_activity(asked_by(name=" Bob\n  Smith "))) == "Bob Smith"
    assert asked_by_fact(card_activity(asked_by(platform="slack", user_id="U0BOB", name="Bob"))) == "Bob on Slack"
    # Without a name: their user id and platform.
    assert asked_by_fact(card_activity(asked_by())) == "29:bob on Teams"


def test_a_name_with_markdown_is_shown_as_typed_and_links_nowhere():
    name = "*Bob* [x](http://evil)"

    shown_value = asked_by_fact(card_activity(asked_by(name=name)))

    assert shown_value == "\\*Bob\\* \\[x\\]\\(http:\u2060//evil\\)"
    assert shown(shown_value).replace("\u2060", "") == name


def test_a_proactive_card_with_a_long_note_has_a_short_summary_and_the_whole_note():
    note = "Please take it down today, and tell the parents why. " * 95  # about 5 000 characters
    activity = card_activity(Reply(text=note, title="The headteacher answered"))

    assert activity.summary == "The headteacher answered"
    assert " ".join(card_texts(activity.attachments[0].content)[1:]).split() == note.split()


# --- What arrives: form_here, files -----------------------------------------------------------------------

async def test_a_form_can_be_shown_in_a_personal_chat_only(scripted_bot, scripted, activity):
    await scripted_bot.post_activity(activity("message_personal", text="report"))
    await scripted_bot.post_activity(activity("message_channel_mention"))

    assert [message.form_here for message in scripted.received] == [True, False]


async def test_a_pasted_picture_alone_is_a_file_and_no_question(scripted_bot, scripted, activity):
    await scripted_bot.post_activity(activity("message_image_pasted"))

    message = scripted.received[0]
    assert message.text == ""
    [picture] = message.files
    assert (picture.name, picture.mimetype, picture.size) == ("screenshot-1", "image/*", 0)
    # Nothing of the platform's (address, file id) is visible in the neutral message.
    assert "trafficmanager" not in repr(message) and "0-weu-d8" not in repr(message)


async def test_a_picture_pasted_with_words_keeps_the_words(scripted_bot, scripted, activity):
    await scripted_bot.post_activity(activity("message_image_with_text"))

    message = scripted.received[0]
    assert message.text == "add evidence to K7QP-3XMD"
    assert len(message.files) == 1


async def test_a_paperclip_file_becomes_a_file_with_its_name_and_type(scripted_bot, scripted, activity):
    await scripted_bot.post_activity(activity("message_file_download_info"))

    message = scripted.received[0]
    assert message.text == "add evidence to K7QP-3XMD"
    [file] = message.files
    assert (file.name, file.mimetype, file.size) == ("phone screenshot.png", "image/png", 0)


async def test_a_data_url_picture_is_decoded_without_any_download(scripted_bot, scripted, activity):
    await scripted_bot.post_activity(activity("message_image_data_url"))

    [picture] = scripted.received[0].files
    assert (picture.name, picture.mimetype, picture.size) == ("screenshot.png", "image/png", len(PNG))
    assert await picture.fetch() == PNG


async def test_a_person_field_arrives_as_submitted_and_nobody_as_empty(scripted_bot, scripted, activity):
    await scripted_bot.post_activity(submission(activity, activity_id="s-1", poster="person:29:megan", what="x"))
    await scripted_bot.post_activity(submission(activity, activity_id="s-2", poster="Mr Smith, a parent", what="x"))
    await scripted_bot.post_activity(submission(activity, activity_id="s-3", poster=EMPTY_CHOICE_VALUE, clause=EMPTY_CHOICE_VALUE))

    assert [message.form.values.get("poster") for message in scripted.received] == ["person:29:megan", "Mr Smith, a parent", ""]
    assert scripted.received[2].form.values["clause"] == ""


async def test_plain_text_and_card_values_carry_no_files(scripted_bot, scripted, activity):
    await scripted_bot.post_activity(activity("message_personal"))
    await scripted_bot.post_activity(submission(activity, what="x"))

    assert [message.files for message in scripted.received] == [(), ()]


class FileServer:
    """A loopback stand-in for OneDrive's pre-authorised links and the Bot Connector's attachments."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.body = PNG
        self.delay = 0.0
        self.url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(dict(request.headers))
        await asyncio.sleep(self.delay)
        return web.Response(body=self.body, content_type="image/png")

    async def __aenter__(self) -> "FileServer":
        app = web.Application()
        app.router.add_get("/{tail:.*}", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc) -> None:
        await self._runner.cleanup()


async def test_a_paperclip_file_is_downloaded_from_its_link_without_the_bots_token(scripted_bot, scripted, activity):
    async with FileServer() as server:
        attachment = activity("message_file_download_info")["attachments"][0]
        attachment["content"]["downloadUrl"] = f"{server.url}/personal/_layouts/15/download.aspx?tempauth=abc"
        await scripted_bot.post_activity(activity("message_file_download_info", attachments=[attachment]))

        data = await scripted.received[0].files[0].fetch()

    assert data == PNG
    assert "Authorization" not in server.requests[0]


async def test_a_pasted_picture_is_downloaded_from_the_connector_anonymously_in_local_mode(scripted_bot, scripted, activity):
    async with FileServer() as server:
        pasted = activity("message_image_pasted")
        pasted["attachments"][0]["contentUrl"] = f"{server.url}/v3/attachments/0-weu-d8-1/views/original"
        await scripted_bot.post_activity(pasted)

        data = await scripted.received[0].files[0].fetch()

    assert data == PNG
    assert "Authorization" not in server.requests[0]  # local mode has no token to send


async def test_the_download_can_run_after_the_turn_has_ended(scripted_bot, scripted, activity):
    async with FileServer() as server:
        attachment = activity("message_file_download_info")["attachments"][0]
        attachment["content"]["downloadUrl"] = f"{server.url}/download"
        await scripted_bot.post_activity(activity("message_file_download_info", attachments=[attachment]))
        await asyncio.sleep(0.05)  # the HTTP answer is long gone: the flow downloads in the background

        assert await scripted.received[0].files[0].fetch() == PNG


async def test_a_download_stops_at_the_size_cap_and_after_the_timeout(monkeypatch):
    downloader = FileDownloader(tokens=_no_token, authenticated=False)
    try:
        async with FileServer() as server:
            server.body = b"\0" * (teams_files.MAX_BYTES + 1)
            with pytest.raises(FileTooLarge):
                await downloader.download(FileSource(url=f"{server.url}/big", bot_token=False), identity=None, service_url="")

            from aiohttp import ClientTimeout

            monkeypatch.setattr(teams_files, "TIMEOUT", ClientTimeout(total=0.2))
            await downloader.close()  # a new session, with the short timeout
            server.body, server.delay = PNG, 2.0
            with pytest.raises(FileUnavailable) as slow:
                await downloader.download(FileSource(url=f"{server.url}/slow", bot_token=False), identity=None, service_url="")
        assert server.url not in str(slow.value) and "127.0.0.1" not in str(slow.value)
    finally:
        await downloader.close()


async def test_a_huge_data_url_is_refused_before_it_is_decoded():
    downloader = FileDownloader(tokens=_no_token, authenticated=False)
    huge = "data:image/png;base64," + "A" * (teams_files.MAX_BYTES * 4 // 3 + 8)
    with pytest.raises(FileTooLarge):
        await downloader.download(FileSource(url=huge, bot_token=False), identity=None, service_url="")


async def test_with_credentials_only_microsoft_https_addresses_are_fetched():
    tokens = []

    async def token_source(identity, service_url):
        tokens.append(service_url)
        return "bot-token"

    downloader = FileDownloader(tokens=token_source, authenticated=True)
    try:
        async with FileServer() as server:
            for url in (f"{server.url}/x", "http://smba.trafficmanager.net/emea/v3/attachments/1/views/original", "https://evil.example/x"):
                with pytest.raises(FileUnavailable) as refused:
                    await downloader.download(FileSource(url=url, bot_token=True), identity=None, service_url="https://smba.trafficmanager.net/emea/")
                assert "evil" not in str(refused.value) and "127.0.0.1" not in str(refused.value)
        assert server.requests == [] and tokens == []
    finally:
        await downloader.close()


@pytest.mark.parametrize(
    ("url", "carries"),
    [
        ("https://smba.trafficmanager.net/emea/v3/attachments/1/views/original", True),
        ("https://emea.botframework.com/v3/attachments/1", True),
        ("https://smba.trafficmanager.net.evil.example/v3/attachments/1", False),
        ("https://evil-smba.trafficmanager.net/v3/attachments/1", False),
        ("http://smba.trafficmanager.net/emea/v3/attachments/1", False),
        ("https://contoso-my.sharepoint.com/personal/x/download.aspx", False),
        ("https://user:pw@smba.trafficmanager.net/x", False),
        ("https://regional.example.org/v3/attachments/1", True),  # the activity's own service URL host
    ],
)
def test_the_bots_token_goes_to_the_bot_framework_only(url, carries):
    assert may_carry_token(url, service_url="https://regional.example.org/") is carries


async def _no_token(_identity, _service_url):
    return None


# --- Privacy ------------------------------------------------------------------------------------------------

async def test_a_report_flow_message_stores_no_conversation_reference(scripted_bot, scripted, connector, activity):
    scripted.private_flow = True
    await scripted_bot.post_activity(activity("message_personal", id="r-1", text="report"))
    await scripted_bot.post_activity(submission(activity, what="x"))
    assert scripted.remembered == []

    scripted.private_flow = False
    await scripted_bot.post_activity(activity("message_personal", id="q-1", text="Can I post?"))
    assert [ref.user_id for ref in scripted.remembered] == ["user-id-0"]


async def test_the_sdks_logs_carry_no_ids(scripted_bot, scripted, connector, activity, caplog):
    caplog.set_level(logging.DEBUG)
    scripted.replies = [Reply(text="Answer", replaces_message_id="card-gone")]
    connector.fail_with = [404]

    await scripted_bot.post_activity(activity("message_personal", id="logs-1"))
    await connector.wait_for(2)

    sdk = [record for record in caplog.records if record.name.startswith("microsoft_agents")]
    assert sdk, "the SDK said something about the failed update"
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for private in ("e71fcc26-7094-4efb-b6a4-577c8c587b86", "user-id-0", "00000000-0000-0000-0000-0000000000020", "card-gone", "logs-1"):
        assert private not in logged
