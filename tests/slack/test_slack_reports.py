"""Anonymous reports on Slack, end to end: signed requests to the running app with the real core and a
SQLite database, the Web API a recording server. The form is a modal, the case code and secret appear in
the modal only, and nothing that identifies the reporter reaches the database, the logs or the handler."""

from __future__ import annotations

import asyncio
import json
import logging
import re

import pytest
from slack_harness import (
    BOT_TOKEN,
    buttons_in,
    click_payload,
    fixture,
    home_click_payload,
    shown,
    submission_payload,
)
from sqlmodel import func, select

from bot.server import OutboxWorker, ServerPlan
from handlers import actions
from handlers import report_texts as rtexts
from storage import repository as repo
from storage.models import CaseEvidence, ReportCase

REPORTER = "U0TEACHER1"
TEAM = "T0SCHOOL1"
DM = "D0BOTDM01"
USERNAME = "j.smith"
COMMAND_TRIGGER = "1234567890.7777777777.report0command0trigger0000000000"
SUBMIT_TRIGGER = "1234567890.8888888888.report0submit0trigger00000000000"
HEADTEACHER = "U0HEAD01"
HEADTEACHER_DM = "D0HEADDM1"
WHAT = "A parent keeps posting about me under the school's posts <!channel> and messaged me at home."
CODE = re.compile(r"\b[A-Z0-9]{4}-[A-Z0-9]{4}\b")


@pytest.fixture
def dm_channels():
    return {HEADTEACHER: HEADTEACHER_DM}


@pytest.fixture
def settings(settings):
    # Notifications leave at once here (the random delay is tested in storage).
    return settings.model_copy(update={"notify_jitter_seconds": 0})


async def count(core, model) -> int:
    async with core.database.transaction() as session:
        return (await session.exec(select(func.count()).select_from(model))).one()


def code_and_secret(text: str) -> tuple[str, str]:
    code = re.search(r"Case code: (\S+)", text).group(1)
    assert CODE.fullmatch(code)
    return code, re.search(r"Secret: (\S+)", text).group(1)


def field_ids(view: dict) -> dict[str, str]:
    """label → field id of the modal's inputs."""
    return {block["label"]["text"]: block["block_id"] for block in view["blocks"] if block["type"] == "input"}


async def open_report_form(slack, slack_api) -> dict:
    fields = fixture("command_policy.json")
    fields.update(text="report", channel_id=DM, channel_name="directmessage", trigger_id=COMMAND_TRIGGER,
                  response_url=slack_api.hook_url(fields["response_url"]))
    status, body = await slack.command(fields)
    assert (status, body) == (200, "")
    [(method, opened)] = await slack_api.wait_for_answers(1)
    assert method == "views.open" and opened["trigger_id"] == COMMAND_TRIGGER
    assert opened["view"]["callback_id"] == actions.REPORT_FORM
    return opened["view"]


def report_answers(view: dict, *, what: str = WHAT, files=()) -> dict:
    ids = field_ids(view)
    return {
        ids[rtexts.FIELD_WHAT]: what,
        ids[rtexts.FIELD_KIND]: "harassment_me",
        ids[rtexts.FIELD_WHERE]: "Facebook",
        ids[rtexts.FIELD_WHO]: "A parent of a pupil in Year 4",
        ids[rtexts.FIELD_ABOUT_HEADTEACHER]: False,
        ids[rtexts.FIELD_IDENTITY]: "anonymous",
        ids[rtexts.FIELD_EVIDENCE]: list(files),
    }


async def submit(slack, view: dict, answers: dict, *, trigger_id: str = SUBMIT_TRIGGER) -> dict | None:
    status, body = await slack.interaction(submission_payload(view, answers, trigger_id=trigger_id, user=REPORTER))
    assert status == 200
    return json.loads(body) if body else None


def screenshot(slack_api) -> dict:
    [entry] = fixture("view_submission_report.json")["view"]["state"]["values"]["evidence"]["evidence"]["files"]
    entry["url_private"] = slack_api.file_url(entry["url_private"])
    entry["url_private_download"] = slack_api.file_url(entry["url_private_download"])
    return entry


async def test_the_report_form_opens_from_the_command_and_refuses_an_empty_report(slack, slack_api, core):
    view = await open_report_form(slack, slack_api)
    kinds = {block["element"]["type"] for block in view["blocks"] if block["type"] == "input"}
    assert kinds == {"plain_text_input", "static_select", "checkboxes", "file_input"}
    ids = field_ids(view)
    ack = await submit(slack, view, report_answers(view, what="   "))
    assert ack == {"response_action": "errors", "errors": {ids[rtexts.FIELD_WHAT]: rtexts.WHAT_HAPPENED_MISSING}}
    assert await count(core, ReportCase) == 0
    assert len(slack_api.answers()) == 1  # the views.open only


async def test_an_anonymous_report_shows_its_code_and_secret_in_the_modal_only(slack, slack_api, core, settings, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    async with core.database.transaction() as session:
        await repo.assign_role(session=session, role=repo.HEADTEACHER, platform="slack", user_id=HEADTEACHER)

    view = await open_report_form(slack, slack_api)
    ack = await submit(slack, view, report_answers(view, files=[screenshot(slack_api)]))
    assert ack["response_action"] == "update"
    result = ack["view"]
    assert result["type"] == "modal" and "submit" not in result and len(result["title"]["text"]) <= 24
    text = shown(result["blocks"])
    code, secret = code_and_secret(text)
    assert len(secret) >= 8
    assert await count(core, ReportCase) == 1

    # The screenshot is fetched after the answer, with the bot token, and kept without its metadata.
    await core.wait_for_background()
    assert [call["_authorization"] for call in slack_api.calls_to("file")] == [f"Bearer {BOT_TOKEN}"]
    assert await count(core, CaseEvidence) == 1

    # "I've noted it", in the modal: the modal is redrawn without the secret.
    noted = buttons_in(result["blocks"])[actions.NOTED_SECRET]
    status, _ = await slack.interaction(home_click_payload(action_id=noted["action_id"], value=noted["value"], modal=True))
    assert status == 200
    *_, (method, updated) = await slack_api.wait_for_answers(2)
    assert method == "views.update" and updated["view_id"] == "V0MODAL001"
    assert code in shown(updated["view"]["blocks"]) and secret not in json.dumps(updated)

    # The headteacher is told through the outbox, with a generic lock-screen text and nothing of the reporter.
    worker = OutboxWorker(settings=settings, core=core, plan=ServerPlan(local_mode=False, teams=False, slack=True, host="127.0.0.1", port=0))
    try:
        assert await worker.dispatcher.run_once() >= 1
    finally:
        await worker.stop()
    [to_head] = [arguments for arguments in slack_api.calls_to("chat.postMessage") if arguments["channel"] == HEADTEACHER_DM]
    assert to_head["text"] == rtexts.NEW_REPORT_NOTIFICATION
    assert {actions.CASE_ACKNOWLEDGE, actions.CASE_REPLY, actions.CASE_CLOSE} <= set(buttons_in(to_head["blocks"]))

    # Neither the code's secret nor the report's text went into any chat message.
    for arguments in slack_api.calls_to("chat.postMessage") + slack_api.calls_to("chat.postEphemeral"):
        sent = json.dumps(arguments)
        assert secret not in sent
        assert arguments["channel"] != REPORTER and arguments["channel"] != DM
    for call in slack_api.calls_to("response_url"):
        assert code not in json.dumps(call) and secret not in json.dumps(call)
    sent_to_head = json.dumps(to_head)
    for identifying in (REPORTER, USERNAME, DM, TEAM, COMMAND_TRIGGER, SUBMIT_TRIGGER):
        assert identifying not in sent_to_head

    await asyncio.sleep(0.05)
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("slack.db*"))
    assert code.encode() in stored, "these are the files the case is in"
    logged = caplog.text
    assert caplog.records, "DEBUG logging was on"
    for identifying in (REPORTER, TEAM, DM, USERNAME, COMMAND_TRIGGER, SUBMIT_TRIGGER, "F0SCREEN01", "1760000400"):
        assert identifying.encode() not in stored, identifying
        assert identifying not in logged, identifying
    for plaintext in ("A parent keeps posting", "Year 4", secret):
        assert plaintext.encode() not in stored and plaintext not in logged


async def test_the_same_submission_twice_makes_one_case(slack, slack_api, core):
    view = await open_report_form(slack, slack_api)
    first = await submit(slack, view, report_answers(view))
    again = await submit(slack, view, report_answers(view))
    assert first["response_action"] == "update"
    assert again is None  # already answered: the modal just closes
    assert await count(core, ReportCase) == 1


async def test_the_home_tab_starts_and_follows_up_a_report(slack, slack_api, core):
    assert (await slack.event(fixture("event_app_home_opened.json")))[0] == 200
    [(method, published)] = await slack_api.wait_for_answers(1)
    assert method == "views.publish" and published["user_id"] == REPORTER and published["view"]["type"] == "home"
    home_buttons = buttons_in(published["view"]["blocks"])
    assert {actions.START_REPORT, actions.FOLLOW_UP} <= set(home_buttons)

    start = home_buttons[actions.START_REPORT]
    await slack.interaction(home_click_payload(action_id=start["action_id"], value=start["value"], trigger_id="t-home-1"))
    _, (method, opened) = await slack_api.wait_for_answers(2)
    assert (method, opened["trigger_id"], opened["view"]["callback_id"]) == ("views.open", "t-home-1", actions.REPORT_FORM)
    ack = await submit(slack, opened["view"], report_answers(opened["view"]), trigger_id="t-home-submit")
    text = shown(ack["view"]["blocks"])
    code, secret = code_and_secret(text)

    follow = home_buttons[actions.FOLLOW_UP]
    await slack.interaction(home_click_payload(action_id=follow["action_id"], value=follow["value"], trigger_id="t-home-2"))
    *_, (method, opened) = await slack_api.wait_for_answers(3)
    assert (method, opened["view"]["callback_id"]) == ("views.open", actions.FOLLOW_UP_FORM)
    follow_view = opened["view"]
    ids = field_ids(follow_view)

    wrong = await submit(slack, follow_view, {ids[rtexts.FIELD_CODE]: code, ids[rtexts.FIELD_SECRET]: "not-the-secret"}, trigger_id="t-f-1")
    assert wrong["response_action"] == "errors" and list(wrong["errors"]) == [ids[rtexts.FIELD_CODE]]

    right = await submit(slack, follow_view, {ids[rtexts.FIELD_CODE]: code, ids[rtexts.FIELD_SECRET]: secret}, trigger_id="t-f-2")
    assert right["response_action"] == "update"
    case_view = right["view"]
    # The case, with a form to add to it, in the modal: its secret travels sealed, never in the clear.
    assert case_view["callback_id"] == actions.REPORTER_MESSAGE_FORM and case_view["submit"]
    assert code in shown(case_view["blocks"]) and secret not in json.dumps(case_view)
    assert len(slack_api.answers()) == 3  # views.publish and two views.open: nothing posted in the DM


async def deliver_outbox(settings, core) -> None:
    worker = OutboxWorker(settings=settings, core=core, plan=ServerPlan(local_mode=False, teams=False, slack=True, host="127.0.0.1", port=0))
    try:
        assert await worker.dispatcher.run_once() >= 1
    finally:
        await worker.stop()


async def test_the_headteachers_reply_updates_their_card_and_reaches_the_reporter(slack, slack_api, core, settings):
    async with core.database.transaction() as session:
        await repo.assign_role(session=session, role=repo.HEADTEACHER, platform="slack", user_id=HEADTEACHER)
    view = await open_report_form(slack, slack_api)
    code, secret = code_and_secret(shown((await submit(slack, view, report_answers(view)))["view"]["blocks"]))
    await deliver_outbox(settings, core)
    [card] = [arguments for arguments in slack_api.calls_to("chat.postMessage") if arguments["channel"] == HEADTEACHER_DM]

    # "Reply to reporter" on the card in the headteacher's DM opens a modal...
    hook = slack_api.hook_url("https://hooks.slack.com/actions/T0SCHOOL1/3333333333/abcdefACTION")
    click = click_payload(button=buttons_in(card["blocks"])[actions.CASE_REPLY], response_url=hook, channel=HEADTEACHER_DM,
                          trigger_id="t-head-reply")
    click["user"].update(id=HEADTEACHER, username="m.patel", name="m.patel")
    before = len(slack_api.answers())
    assert (await slack.interaction(click))[0] == 200
    *_, (method, opened) = await slack_api.wait_for_answers(before + 1)
    assert (method, opened["trigger_id"]) == ("views.open", "t-head-reply")
    answered = before + 1
    reply_form = opened["view"]
    assert reply_form["callback_id"] == actions.CASE_REPLY_FORM
    # ...that remembers the card by channel and ts, so it can be updated from the submission.
    assert "D0HEADDM1:1760000001.000900" in reply_form["private_metadata"]

    [reply_field] = field_ids(reply_form).values()
    status, body = await slack.interaction(
        submission_payload(reply_form, {reply_field: "Thank you for telling us. I have spoken to the parent."},
                           trigger_id="t-head-submit", user=HEADTEACHER)
    )
    assert status == 200 and json.loads(body)["response_action"] == "update"
    *_, (method, updated) = await slack_api.wait_for_answers(answered + 1)
    assert method == "chat.update" and (updated["channel"], updated["ts"]) == (HEADTEACHER_DM, "1760000001.000900")

    # The reporter reads the reply in the follow-up modal.
    follow_up = core.signer.sign_button(action_id=actions.FOLLOW_UP, value="{}")  # the App Home's button, as the bot signs it
    await slack.interaction(home_click_payload(action_id=actions.FOLLOW_UP, value=follow_up, trigger_id="t-status"))
    *_, (method, opened) = await slack_api.wait_for_answers(answered + 2)
    ids = field_ids(opened["view"])
    case = await submit(slack, opened["view"], {ids[rtexts.FIELD_CODE]: code, ids[rtexts.FIELD_SECRET]: secret}, trigger_id="t-status-2")
    assert "I have spoken to the parent." in shown(case["view"]["blocks"])


async def test_a_report_slower_than_slacks_limit_keeps_its_modal_and_shows_the_code_there(slack, slack_api, core, monkeypatch):
    # Past 3 s Slack shows an error and invites a second report: instead the modal says it is saving.
    from bot.slack import app as slack_app
    from handlers import texts

    view = await open_report_form(slack, slack_api)
    monkeypatch.setattr(slack_app, "ACK_DEADLINE_S", 0.2)
    handle = core.handle

    async def busy_database(message):
        await asyncio.sleep(0.6)
        return await handle(message)

    monkeypatch.setattr(core, "handle", busy_database)
    before = len(slack_api.answers())
    ack = await submit(slack, view, report_answers(view))
    assert ack["response_action"] == "update" and texts.FORM_SAVING in shown(ack["view"]["blocks"])
    *_, (method, updated) = await slack_api.wait_for_answers(before + 1)
    assert method == "views.update" and updated["view_id"] == submission_payload(view, {}, user=REPORTER)["view"]["id"]
    code_and_secret(shown(updated["view"]["blocks"]))
    assert await count(core, ReportCase) == 1
