"""Anonymous reports on Teams, end to end at the HTTP edge with the real conversation core: activity JSON
posted to /api/messages, the recording connector standing in for the Bot Connector, the SQLite file and
every log record read afterwards for anything that could identify the reporter."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
from sqlmodel import func, select

from handlers import report_texts
from storage import repository as repo
from storage.models import CaseEvidence, ConversationReference, ReportCase

from .conftest import local_settings
from .test_flows import action_titled, card_texts

CODE = re.compile(r"\b[A-Z0-9]{4}-[A-Z0-9]{4}\b")
# Who reports: ids chosen so that any copy of them in the database or the logs is found.
USER_ID = "29:1Reporter-qZx81-f0d2a9c4e7b6"
AAD_ID = "7d3c9e1a-52b4-4f86-9a0e-c1reporter7"
CONVERSATION_ID = "a:1Reporter-personal-chat-e5b2c7"
TENANT_ID = "4e1f0a9b-8c7d-4b6a-a5f4-tenant00ab12"
NAME = "Alex Wilber"
WHAT = "A parent keeps posting my photo with abusive comments on the PTA page."
IDS = (USER_ID, AAD_ID, CONVERSATION_ID, TENANT_ID)


@pytest.fixture
def as_reporter(activity):
    """Fixture activities as sent by the reporter in their one-to-one chat with the bot."""

    def make(name: str, **fields) -> dict:
        made = activity(name, **fields)
        made["from"] = {"id": USER_ID, "name": NAME, "aadObjectId": AAD_ID}
        made["conversation"] = {"conversationType": "personal", "id": CONVERSATION_ID, "tenantId": TENANT_ID}
        made["channelData"] = {**made.get("channelData", {}), "tenant": {"id": TENANT_ID}}
        return made

    return make


async def send(bot, connector, made: dict, *, calls: int = 1):
    before = len(connector.calls)
    response = await bot.post_activity(made)
    assert response.status in (200, 202)
    return (await connector.wait_for(before + calls))[before:]


def form_values(card: dict, **typed) -> dict:
    """What Teams sends for the form's submit button: its data and every input's value."""
    submit = card["actions"][-1]
    values = {item["id"]: item.get("value", "") for item in card["body"] if item.get("type", "").startswith("Input.")}
    return {**submit["data"], **values, **typed}


async def open_report_form(bot, connector, as_reporter):
    [sent] = await send(bot, connector, as_reporter("message_personal", id="report-1", text="report"))
    assert sent.method == "POST"
    card = sent.card
    inputs = {item["id"]: item["type"] for item in card["body"] if item.get("type", "").startswith("Input.")}
    assert inputs["what"] == "Input.Text" and inputs["kind"] == "Input.ChoiceSet" and inputs["about_headteacher"] == "Input.Toggle"
    assert inputs["identity"] == "Input.ChoiceSet"
    assert any("add evidence to" in text for text in card_texts(card))  # screenshots: in the chat, afterwards
    return sent


async def submit_report(bot, connector, as_reporter, form_card_id: str, card: dict, *, activity_id: str = "submit-1", **typed):
    submitted = as_reporter("action_submit", id=activity_id, replyToId=form_card_id, value=form_values(card, **{"kind": "harassment_me", **typed}))
    return await send(bot, connector, submitted)


async def count(core, model) -> int:
    async with core.database.transaction() as session:
        return (await session.exec(select(func.count()).select_from(model))).one()


# Everything at DEBUG, the libraries too (`policybot serve` quiets them; a test run may have done so already).
LOUD_LOGGERS = (None, "microsoft_agents", "aiosqlite", "sqlalchemy", "aiohttp", "handlers", "storage", "bot")


async def test_an_anonymous_report_through_teams_keeps_nothing_of_the_reporter(bot, connector, as_reporter, core, settings, caplog):
    for name in LOUD_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    form = await open_report_form(bot, connector, as_reporter)

    [confirmation] = await submit_report(bot, connector, as_reporter, "connector-activity-1", form.card, what=WHAT, kind="harassment_me")

    # The form's card is replaced by the confirmation: the case code and secret never become a message.
    assert confirmation.method == "PUT" and confirmation.path.endswith("/activities/connector-activity-1")
    shown = "\n".join(card_texts(confirmation.card))
    code = re.search(r"Case code: (\S+)", shown).group(1)
    secret = re.search(r"Secret: (\S+)", shown).group(1)
    assert CODE.fullmatch(code) and code in confirmation.card["body"][0]["text"]
    assert len(secret) >= 8
    assert not [call for call in connector.calls if call.method == "POST" and secret in json.dumps(call.body)]
    assert WHAT not in json.dumps([call.body for call in connector.calls])  # what was typed left the chat

    # Teams re-sends an activity it thinks was not answered: one case all the same, and no second answer.
    before = len(connector.calls)
    submitted_again = as_reporter("action_submit", id="submit-1", replyToId="connector-activity-1", value=form_values(form.card, what=WHAT, kind="harassment_me"))
    assert (await bot.post_activity(submitted_again)).status == 202
    assert len(connector.calls) == before
    assert await count(core, ReportCase) == 1

    # "I've noted it" redraws the card without the secret.
    noted = action_titled(confirmation.card, report_texts.NOTED_BUTTON)
    [cleared] = await send(bot, connector, as_reporter("action_submit", id="noted-1", replyToId="connector-activity-1", value=noted["data"]))
    assert cleared.method == "PUT" and cleared.path.endswith("/activities/connector-activity-1")
    assert secret not in json.dumps(cleared.body)
    assert code in "\n".join(card_texts(cleared.card))

    await core.wait_for_background()
    # Everything logged while the report was made, at DEBUG, the libraries' records (SQL and its
    # parameters, the SDK's connector calls) included.
    logged = "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)
    assert "INSERT INTO report_case" in logged  # DEBUG really was on
    for private in (*IDS, NAME, WHAT, secret):
        assert private not in logged, f"the logs hold {private!r}"
    stored = database_bytes(settings)
    for private in (*IDS, NAME, WHAT, secret):
        assert private.encode() not in stored, f"the database holds {private!r}"
    assert await count(core, ConversationReference) == 0
    async with core.database.transaction() as session:
        assert await repo.get_conversation_reference(session=session, platform="teams", user_id=USER_ID) is None


def database_bytes(settings) -> bytes:
    """The SQLite file and its journal (WAL) as they are on disk."""
    database = Path(settings.database_url.split("///", 1)[1])
    return b"".join(candidate.read_bytes() for candidate in sorted(database.parent.glob(database.name + "*")))


async def test_an_empty_report_is_refused_inside_the_form_with_what_was_typed_kept(bot, connector, as_reporter, core):
    form = await open_report_form(bot, connector, as_reporter)

    [refused] = await submit_report(bot, connector, as_reporter, "connector-activity-1", form.card, what="   ", where="Facebook", kind="school_content")

    assert refused.method == "PUT" and refused.path.endswith("/activities/connector-activity-1")
    errors = [item for item in refused.card["body"] if item.get("color") == "Attention"]
    assert [item["text"] for item in errors] == [report_texts.WHAT_HAPPENED_MISSING]
    fields = {item["id"]: item for item in refused.card["body"] if "id" in item}
    assert fields["where"]["value"] == "Facebook" and fields["kind"]["value"] == "school_content"
    assert await count(core, ReportCase) == 0


async def test_the_noted_button_as_action_execute_swaps_the_card_in_the_invoke_answer(tmp_path, connector, as_reporter):
    from .conftest import running_bot

    async with running_bot(local_settings(tmp_path, teams_card_actions="execute")) as (_core, bot):
        form = await open_report_form(bot, connector, as_reporter)
        [confirmation] = await submit_report(bot, connector, as_reporter, "connector-activity-1", form.card, what=WHAT)
        noted = action_titled(confirmation.card, report_texts.NOTED_BUTTON)
        assert noted["type"] == "Action.Execute"
        invoke = as_reporter(
            "invoke_action_execute",
            id="noted-2",
            replyToId="connector-activity-1",
            value={"action": {"type": "Action.Execute", "verb": noted["verb"], "data": noted["data"]}},
        )
        before = len(connector.calls)
        response = await bot.post_activity(invoke)
        body = await response.json()

    assert body["type"] == "application/vnd.microsoft.card.adaptive"
    assert "Secret" not in json.dumps(body["value"])
    assert len(connector.calls) == before


async def test_a_screenshot_added_in_the_chat_is_stored_with_the_case_and_no_reference_is_kept(bot, connector, as_reporter, core):
    form = await open_report_form(bot, connector, as_reporter)
    [confirmation] = await submit_report(bot, connector, as_reporter, "connector-activity-1", form.card, what=WHAT)
    code = re.search(r"Case code: (\S+)", "\n".join(card_texts(confirmation.card))).group(1)

    # A PNG from the loopback "OneDrive", by its pre-authorised link.
    from .test_report_adapter import PNG, FileServer

    async with FileServer() as onedrive:
        paperclip = as_reporter("message_file_download_info", id="evidence-1", text=f"add evidence to {code}")
        paperclip["attachments"][0]["content"]["downloadUrl"] = f"{onedrive.url}/download.aspx?tempauth=x"
        [answer] = await send(bot, connector, paperclip)
        await core.wait_for_background()
    assert answer.method == "POST"
    assert onedrive.requests and "Authorization" not in onedrive.requests[0]
    # A picture pasted as a data: URL (as a web client sends it).
    [answer] = await send(bot, connector, as_reporter("message_image_data_url", id="evidence-2", text=f"add evidence to {code}"))
    await core.wait_for_background()

    assert await count(core, CaseEvidence) == 2
    assert await count(core, ConversationReference) == 0
    assert PNG  # (both were the same one-pixel PNG, stored re-encoded)
