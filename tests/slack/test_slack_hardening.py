"""The Slack adapter under faults and hostile input: a kill right after Slack's acknowledgement, Web API
answers that are not the Web API's JSON, and signed bodies that are not a Slack payload."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from urllib.parse import urlencode

import pytest
from slack_harness import SIGNING_SECRET, buttons_in, click_payload, fixture, listeners_finished
from slack_harness import shown as section_texts
from sqlmodel import func, select

from bot.slack import app as slack_app
from handlers import actions, report_texts, texts
from storage.models import Feedback, ProcessedEvent

# Ids in the fixtures: none of them may reach a log line.
IDS = ("U0TEACHER1", "U0TEACHER2", "D0BOTDM01", "C0STAFFROOM", "T0SCHOOL1")
HARASSMENT = "Someone is harassing me online about a photo of me, what do I do?"


async def rows(core, model) -> int:
    async with core.database.transaction() as session:
        return (await session.exec(select(func.count()).select_from(model))).one()


def slow_core(core, monkeypatch, *, delay: float) -> None:
    """The core as it is when the database is busy with other writers: each message waits `delay` first."""
    handle = core.handle

    async def waiting_handle(message):
        await asyncio.sleep(delay)
        return await handle(message)

    monkeypatch.setattr(core, "handle", waiting_handle)


def kill_listeners() -> None:
    """What a kill of the process does to the work still running once Slack has its acknowledgement."""
    for task in asyncio.all_tasks():
        if task is not asyncio.current_task() and "run_ack_function" in repr(task):
            task.cancel()


async def buttons_of_an_answer(slack, slack_api, text: str = "Can I post photos of my class on my Instagram?") -> dict[str, dict]:
    """The buttons the bot's answer to a DM question carries, as Slack would send them back."""
    payload = fixture("event_message_im.json")
    payload["event"]["text"] = text
    assert (await slack.event(payload))[0] == 200
    await slack_api.wait_for_answers(1)
    await listeners_finished()
    return {action_id: button for _, arguments in slack_api.answers() for action_id, button in buttons_in(arguments["blocks"]).items()}


async def feedback_click(slack, slack_api) -> dict:
    button = (await buttons_of_an_answer(slack, slack_api))[actions.FEEDBACK_HELPFUL]
    return click_payload(button=button, response_url=slack_api.hook_url("https://hooks.slack.com/actions/T0SCHOOL1/1/abc"))


# --- 1. Stored before acknowledged -------------------------------------------------------------------------


async def test_a_click_is_stored_before_slack_gets_its_acknowledgement(slack, slack_api, core, monkeypatch):
    click = await feedback_click(slack, slack_api)
    slow_core(core, monkeypatch, delay=0.4)
    started = time.monotonic()
    status, _ = await slack.interaction(click)
    assert status == 200 and time.monotonic() - started < 3
    # Slack never retries an acknowledged click: killed now, the click must already be kept.
    kill_listeners()
    assert await rows(core, Feedback) == 1
    assert await rows(core, ProcessedEvent) == 2  # the question's delivery and the click


def policy_command(slack_api, text: str) -> dict:
    fields = fixture("command_policy.json")
    fields.update(text=text, response_url=slack_api.hook_url(fields["response_url"]))
    return fields


def removal_shortcut(slack_api) -> dict:
    payload = fixture("shortcut_removal.json")
    payload["response_url"] = slack_api.hook_url(payload["response_url"])
    return payload


def can_i_post_shortcut(slack_api) -> dict:
    payload = fixture("shortcut_message_action.json")
    payload["response_url"] = slack_api.hook_url(payload["response_url"])
    return payload


@pytest.mark.parametrize("kind", ["command", "message shortcut", "removal shortcut"])
async def test_commands_and_shortcuts_are_claimed_before_they_are_acknowledged(slack, slack_api, core, monkeypatch, kind):
    slow_core(core, monkeypatch, delay=0.4)
    if kind == "command":
        status, _ = await slack.command(policy_command(slack_api, "ask the head: can I post the trip photos?"))
    elif kind == "message shortcut":
        status, _ = await slack.interaction(can_i_post_shortcut(slack_api))
    else:
        status, _ = await slack.interaction(removal_shortcut(slack_api))
    assert status == 200
    kill_listeners()
    # The claim is written with the flow's own effects (an escalation, say), in one transaction.
    assert await rows(core, ProcessedEvent) == 1


@pytest.mark.parametrize("kind", ["DM", "mention"])
async def test_events_are_claimed_before_they_are_acknowledged(slack, slack_api, core, monkeypatch, kind):
    # Slack sends an event again only when it was not acknowledged: after the 200, it must be kept.
    slow_core(core, monkeypatch, delay=0.4)
    payload = fixture("event_message_im.json" if kind == "DM" else "event_app_mention.json")
    assert (await slack.event(payload))[0] == 200
    kill_listeners()
    assert await rows(core, ProcessedEvent) == 1
    # A question's answer is kept nowhere else: it went out before the acknowledgement too.
    assert slack_api.answers()
    # Delivered again (as after a restart), it changes nothing and is not answered again.
    monkeypatch.undo()
    answered = len(slack_api.answers())
    assert (await slack.event(payload, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}))[0] == 200
    await listeners_finished()
    assert len(slack_api.answers()) == answered and await rows(core, ProcessedEvent) == 1


async def test_a_click_slower_than_slacks_limit_is_acknowledged_in_time_and_still_stored(
    slack, slack_api, core, monkeypatch, caplog
):
    click = await feedback_click(slack, slack_api)
    caplog.set_level(logging.DEBUG, logger="bot")
    monkeypatch.setattr(slack_app, "ACK_DEADLINE_S", 0.2)
    slow_core(core, monkeypatch, delay=1.0)
    before = len(slack_api.answers())
    started = time.monotonic()
    status, _ = await slack.interaction(click)
    assert status == 200 and time.monotonic() - started < 0.9
    await listeners_finished()
    assert await rows(core, Feedback) == 1
    [(method, thanks)] = slack_api.answers()[before:]
    assert method == "chat.postMessage" and texts.FEEDBACK_THANKS_HELPFUL in section_texts(thanks["blocks"])
    assert "acknowledged before" in caplog.text
    assert not any(identifier in caplog.text for identifier in IDS)


async def test_a_button_opening_a_form_still_opens_it_after_the_acknowledgement(slack, slack_api):
    button = (await buttons_of_an_answer(slack, slack_api, HARASSMENT))[actions.START_REPORT]
    payload = click_payload(button=button, response_url=slack_api.hook_url("https://hooks.slack.com/actions/T0SCHOOL1/2/abc"))
    status, _ = await slack.interaction(payload)
    assert status == 200
    await listeners_finished()
    [opened] = slack_api.calls_to("views.open")
    assert opened["trigger_id"] == payload["trigger_id"] and opened["view"]["type"] == "modal"


# --- 2. Web API answers that are not the Web API's JSON ------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [(502, "upstream connect error or disconnect/reset before headers"), (200, "upstream connect error"), (200, '"ok"')],
    ids=["502 plain text", "200 plain text", "200 JSON that is not an object"],
)
async def test_a_reply_slack_answers_with_plain_text_does_not_stop_the_next_one(slack, slack_api, failure, caplog):
    caplog.set_level(logging.WARNING)
    slack_api.refuse("chat.postMessage", failure)
    payload = fixture("event_message_im.json")
    payload["event"]["text"] = HARASSMENT
    assert (await slack.event(payload))[0] == 200
    [(method, answer)] = await slack_api.wait_for_answers(1)
    await listeners_finished()
    [(_, offer)] = slack_api.refused
    # The offer to report was refused; the answer after it still went out.
    assert report_texts.START_BUTTON in json.dumps(offer["blocks"]) and method == "chat.postMessage"
    assert actions.ASK_HEADTEACHER in buttons_in(answer["blocks"]) and HARASSMENT in section_texts(answer["blocks"])
    assert "Slack refused a reply" in caplog.text and "AttributeError" not in caplog.text
    assert "upstream" not in caplog.text and not any(identifier in caplog.text for identifier in IDS)


async def test_a_reply_whose_connection_drops_does_not_stop_the_next_one(slack, slack_api, caplog):
    caplog.set_level(logging.WARNING)
    # slack_sdk tries a dropped connection once more: both tries drop.
    slack_api.drop("chat.postMessage", times=2)
    payload = fixture("event_message_im.json")
    payload["event"]["text"] = HARASSMENT
    assert (await slack.event(payload))[0] == 200
    [(_, answer)] = await slack_api.wait_for_answers(1)
    await listeners_finished()
    assert HARASSMENT in section_texts(answer["blocks"])
    assert "Slack could not be reached" in caplog.text and not any(identifier in caplog.text for identifier in IDS)


# --- 3. Signed bodies that are not a Slack payload ------------------------------------------------------------

BROKEN = "SECRET-REPORT-TEXT U0TEACHER1"
FORM = "application/x-www-form-urlencoded"


def interaction(payload) -> tuple[str, str]:
    return FORM, urlencode({"payload": json.dumps(payload)})


def dm_whose_text_is_a_number() -> tuple[str, str]:
    payload = fixture("event_message_im.json")
    payload["event"].update(text=5, files=BROKEN)
    return "application/json", json.dumps(payload)


MALFORMED = {
    "broken JSON": ("application/json", '{"type": "event_callback", "event": {"text": "' + BROKEN),
    "JSON array": ("application/json", json.dumps([{"type": "event_callback", "text": BROKEN}])),
    "JSON string": ("application/json", json.dumps(BROKEN)),
    "JSON number": ("application/json", "42"),
    "JSON null": ("application/json", "null"),
    "payload= broken JSON": (FORM, urlencode({"payload": '{"type": "block_actions", "x": "' + BROKEN})),
    "payload= JSON array": interaction([BROKEN]),
    "payload= JSON string": interaction(BROKEN),
    "object with wrong kinds": ("application/json", json.dumps({"type": "event_callback", "event": BROKEN, "authorizations": 3, "team": 5})),
    "interaction with wrong kinds": interaction({"type": "block_actions", "actions": BROKEN, "user": BROKEN, "team": 5, "container": 1}),
    "click with wrong kinds": interaction({
        "type": "block_actions", "actions": [{"action_id": actions.FEEDBACK_HELPFUL, "value": "{}"}], "user": BROKEN,
        "container": BROKEN, "trigger_id": "t-1",
    }),
    "form whose state is text": interaction({
        "type": "view_submission", "view": {"callback_id": "report", "state": BROKEN, "id": "V1"}, "user": {"id": "U0TEACHER1"},
    }),
    "form whose values are text": interaction({
        "type": "view_submission", "view": {"callback_id": "report", "type": "modal", "state": {"values": {"a": {"a": BROKEN}}}},
        "user": {"id": "U0TEACHER1"},
    }),
    "shortcut whose message is text": interaction({
        "type": "message_action", "callback_id": "can_i_post_this", "message": BROKEN, "channel": BROKEN,
        "user": {"id": "U0TEACHER1"}, "trigger_id": "t-2",
    }),
    "DM whose text is a number": dm_whose_text_is_a_number(),
}

# Payloads bolt can route, whose fields the adapter cannot read: acknowledged (an event answered otherwise
# would be sent again) and ignored.
READ_BUT_IGNORED = {"click with wrong kinds", "form whose values are text", "shortcut whose message is text", "DM whose text is a number"}


@pytest.mark.parametrize("case", list(MALFORMED))
async def test_a_signed_body_that_is_not_a_slack_payload_gets_400_not_500(slack, slack_api, core, case, caplog):
    caplog.set_level(logging.DEBUG)
    content_type, body = MALFORMED[case]
    status, text = await slack.post_raw(body, content_type=content_type)
    if case in READ_BUT_IGNORED:
        assert status == 200  # bolt read it; the adapter ignores it like a payload that is not for the bot
    else:
        assert status == 400 and len(text) < 100 and BROKEN not in text
    await listeners_finished()
    assert slack_api.answers() == [] and await rows(core, ProcessedEvent) == 0
    assert BROKEN.split()[0] not in caplog.text and "U0TEACHER1" not in caplog.text
    assert "Traceback" not in caplog.text


async def test_a_signed_body_that_is_not_utf8_gets_400(slack, slack_api, core, caplog):
    caplog.set_level(logging.DEBUG)
    body = b'{"type": "event_callback", "text": "\xff\xfe SECRET"}'
    stamp = str(int(time.time()))
    # slack_sdk's verifier signs text only: the signature of these bytes, as Slack computes it.
    digest = hmac.new(SIGNING_SECRET.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}
    async with slack.session.post(slack.url, data=body, headers=headers) as response:
        assert response.status == 400
    assert slack_api.answers() == [] and "SECRET" not in caplog.text


@pytest.mark.parametrize("case", ["broken JSON", "JSON array", "payload= broken JSON"])
async def test_an_unsigned_body_that_is_not_a_slack_payload_gets_401(slack, slack_api, case, caplog):
    caplog.set_level(logging.DEBUG)
    content_type, body = MALFORMED[case]
    status, _ = await slack.post_raw(body, content_type=content_type, signature="v0=" + "0" * 64)
    assert status == 401
    assert BROKEN.split()[0] not in caplog.text


@pytest.mark.parametrize(
    "headers",
    [{"X-Slack-Request-Timestamp": "abc"}, {"X-Slack-Request-Timestamp": ""}, {"X-Slack-Request-Timestamp": "1e9"},
     {"X-Slack-Signature": "v0=\u00e9"}, {"X-Slack-Signature": ""}],
    ids=["timestamp not a number", "no timestamp", "timestamp in e-notation", "signature not ASCII", "no signature"],
)
async def test_malformed_signature_headers_get_401_not_500(slack, slack_api, core, headers):
    status, _ = await slack.event(fixture("event_message_im.json"), headers=headers)
    assert status == 401
    await listeners_finished()
    assert slack_api.calls == [] and await rows(core, ProcessedEvent) == 0
