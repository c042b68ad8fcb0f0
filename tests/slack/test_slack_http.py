"""Signed Slack requests against the running app; answers observed at the recording Web API."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import pytest
from slack_harness import BOT_TOKEN, BOT_USER_ID, buttons_in, click_payload, fixture
from slack_harness import shown as section_texts
from sqlmodel import func, select

from handlers import actions, texts
from storage.models import Feedback, Notification, ProcessedEvent


async def rows(core, model) -> int:
    async with core.database.transaction() as session:
        return (await session.exec(select(func.count()).select_from(model))).one()


def dm_event(text: str, *, event_id: str = "Ev0DMQUESTION1") -> dict:
    payload = fixture("event_message_im.json")
    payload["event"]["text"] = text
    payload["event_id"] = event_id
    return payload


async def settle() -> None:
    """Long enough for a listener that would (wrongly) answer to reach the Web API."""
    await asyncio.sleep(0.3)


async def ask_in_dm(slack, slack_api, text="Can I post photos of my class on my Instagram?") -> dict:
    status, _ = await slack.event(dm_event(text))
    assert status == 200
    [(method, arguments)] = await slack_api.wait_for_answers(1)
    assert method == "chat.postMessage"
    return arguments


async def test_a_dm_question_is_answered_in_the_dm(slack, slack_api):
    arguments = await ask_in_dm(slack, slack_api)
    assert arguments["channel"] == "D0BOTDM01"
    assert arguments["_authorization"] == f"Bearer {BOT_TOKEN}"
    assert "thread_ts" not in arguments or arguments["thread_ts"] is None
    shown = section_texts(arguments["blocks"])
    verdict_titles = [title.format(headteacher="Mrs Patel") for _, title in texts.VERDICT_HEADINGS.values()]
    assert any(title in shown for title in verdict_titles)
    assert "&gt; " in shown  # at least one clause quoted
    assert texts.YOU_ASKED in shown
    assert {actions.FEEDBACK_HELPFUL, actions.FEEDBACK_NOT_HELPFUL} <= set(buttons_in(arguments["blocks"]))
    assert arguments["text"]  # the notification text


async def test_a_mention_is_answered_in_its_thread_without_the_mention(slack, slack_api):
    status, _ = await slack.event(fixture("event_app_mention.json"))
    assert status == 200
    [(method, arguments)] = await slack_api.wait_for_answers(1)
    assert method == "chat.postMessage"
    assert (arguments["channel"], arguments["thread_ts"]) == ("C0STAFFROOM", "1760000100.000200")
    assert f"<@{BOT_USER_ID}>" not in json.dumps(arguments) and BOT_USER_ID not in section_texts(arguments["blocks"])


async def test_the_policy_command_answers_only_the_asker(slack, slack_api):
    fields = fixture("command_policy.json")
    fields["response_url"] = slack_api.hook_url(fields["response_url"])
    started = time.monotonic()
    status, body = await slack.command(fields)
    assert status == 200 and body == ""  # the acknowledgement: nothing shown in the channel
    assert time.monotonic() - started < 3
    [(method, arguments)] = await slack_api.wait_for_answers(1)
    assert method == "response_url"
    assert arguments["response_type"] == "ephemeral"
    assert "sports day photos" in section_texts(arguments["blocks"])


async def test_the_message_shortcut_answers_the_person_privately(slack, slack_api):
    payload = fixture("shortcut_message_action.json")
    payload["response_url"] = slack_api.hook_url(payload["response_url"])
    status, _ = await slack.interaction(payload)
    assert status == 200
    [(method, arguments)] = await slack_api.wait_for_answers(1)
    assert method == "response_url" and arguments["response_type"] == "ephemeral"
    assert "Draft for my Facebook" in section_texts(arguments["blocks"])


async def test_helpful_and_ask_the_headteacher_buttons(slack, slack_api, core):
    answer = await ask_in_dm(slack, slack_api, "Can I post photos of my class on my Instagram?")
    buttons = buttons_in(answer["blocks"])
    hook = slack_api.hook_url("https://hooks.slack.com/actions/T0SCHOOL1/3333333333/abcdefACTION")

    status, _ = await slack.interaction(click_payload(button=buttons[actions.FEEDBACK_HELPFUL], response_url=hook, trigger_id="t-1"))
    assert status == 200
    _, (method, thanks) = await slack_api.wait_for_answers(2)
    assert (method, thanks["channel"]) == ("chat.postMessage", "D0BOTDM01")
    assert texts.FEEDBACK_THANKS_HELPFUL in section_texts(thanks["blocks"])
    async with core.database.transaction() as session:
        [feedback] = (await session.exec(select(Feedback))).all()
    asked_about = json.loads(core.signer.button_value(action_id=actions.FEEDBACK_HELPFUL, signed=buttons[actions.FEEDBACK_HELPFUL]["value"]))
    assert (feedback.helpful, feedback.verdict, feedback.situation) == (True, asked_about["verdict"], asked_about["situation"])

    assert actions.ASK_HEADTEACHER in buttons, "photos of pupils are not plainly allowed"
    status, _ = await slack.interaction(click_payload(button=buttons[actions.ASK_HEADTEACHER], response_url=hook, trigger_id="t-2"))
    assert status == 200
    *_, (method, confirmation) = await slack_api.wait_for_answers(3)
    # No headteacher set up in this test (tests/slack/test_slack_escalation.py has one): said honestly.
    assert "nobody has set me up" in section_texts(confirmation["blocks"])
    assert await rows(core, Notification) == 0


async def test_a_button_in_a_channel_answers_only_the_clicker(slack, slack_api, core):
    answer = await ask_in_dm(slack, slack_api)
    button = buttons_in(answer["blocks"])[actions.FEEDBACK_NOT_HELPFUL]
    hook = slack_api.hook_url("https://hooks.slack.com/actions/T0SCHOOL1/3333333333/abcdefACTION")
    await slack.interaction(click_payload(button=button, response_url=hook, channel="C0STAFFROOM"))
    _, (method, thanks) = await slack_api.wait_for_answers(2)
    assert method == "response_url" and thanks["response_type"] == "ephemeral" and thanks["replace_original"] is False
    assert await rows(core, Feedback) == 1


async def test_mentions_in_a_question_reach_the_web_api_escaped(slack, slack_api):
    # Slack sends a real @channel as <!channel>, and text typed as "<" as "&lt;".
    arguments = await ask_in_dm(slack, slack_api, "<!channel> can I post &lt;!here&gt; and ping <@U0HEAD> about R&amp;D photos?")
    # Button values come back to the bot only and are never shown or parsed for mentions.
    for button in buttons_in(arguments["blocks"]).values():
        button.pop("value", None)
    sent = json.dumps(arguments)
    for ping in ("<!channel>", "<!here>", "<@U0HEAD>"):
        assert ping not in sent
    shown = section_texts(arguments["blocks"])
    assert "&lt;!channel&gt; can I post &lt;!here&gt; and ping &lt;@U0HEAD&gt; about R&amp;D photos?" in shown
    assert "<" not in arguments["text"]


def click_on_feedback() -> dict:
    value = actions.encode({"verdict": "not_allowed", "situation": "photos_of_pupils"})
    button = {"action_id": actions.FEEDBACK_HELPFUL, "value": value, "text": {"type": "plain_text", "text": "Helpful"}}
    return click_payload(button=button, response_url="http://127.0.0.1:9/never")


@pytest.mark.parametrize("tampering", ["forged signature", "timestamp 301 s old", "body changed after signing"])
@pytest.mark.parametrize("kind", ["event", "interaction"])
async def test_tampered_requests_get_401_and_change_nothing(slack, slack_api, core, tampering, kind, caplog):
    caplog.set_level(logging.DEBUG)
    # Even if someone turns bolt's logging all the way up, the failed request's body is not written.
    caplog.set_level(logging.DEBUG, logger="slack_bolt.RequestVerification")
    post = slack.event if kind == "event" else slack.interaction
    payload = dm_event("Can I post photos of my class? SECRET-REPORT-TEXT") if kind == "event" else click_on_feedback()
    if tampering == "forged signature":
        status, _ = await post(payload, signature="v0=" + "0" * 64)
    elif tampering == "timestamp 301 s old":
        status, _ = await post(payload, timestamp=int(time.time()) - 301)
    else:
        original = json.dumps(payload) if kind == "event" else None
        changed = dict(payload)
        changed["tampered"] = True
        if kind == "event":
            status, _ = await slack.post_raw(json.dumps(changed), content_type="application/json", signed_body=original)
        else:
            from urllib.parse import urlencode

            signed = urlencode({"payload": json.dumps(payload)})
            status, _ = await slack.post_raw(
                urlencode({"payload": json.dumps(changed)}), content_type="application/x-www-form-urlencoded", signed_body=signed
            )
    assert status == 401
    await settle()
    assert slack_api.calls == []
    for model in (ProcessedEvent, Feedback, Notification):
        assert await rows(core, model) == 0
    # Bolt would log the whole body of a request that fails the check: it stays out of the logs.
    assert "SECRET-REPORT-TEXT" not in caplog.text and "U0TEACHER1" not in caplog.text


async def test_a_retried_event_is_answered_once(slack, slack_api, core):
    payload = dm_event("Can I post photos of my class on my Instagram?", event_id="Ev0RETRIED")
    assert (await slack.event(payload))[0] == 200
    await slack_api.wait_for_answers(1)
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert (await slack.event(payload, headers=retry))[0] == 200
    # Two more deliveries at once must not race past the de-duplication either.
    retries = [{"X-Slack-Retry-Num": str(n), "X-Slack-Retry-Reason": "http_timeout"} for n in (2, 3)]
    statuses = await asyncio.gather(*(slack.event(payload, headers=headers) for headers in retries))
    assert [status for status, _ in statuses] == [200, 200]
    await settle()
    assert len(slack_api.answers()) == 1
    assert await rows(core, ProcessedEvent) == 1


async def test_a_retry_whose_original_never_arrived_is_answered(slack, slack_api):
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_error"}
    assert (await slack.event(dm_event("Can I post photos of my class?", event_id="Ev0LOST"), headers=retry))[0] == 200
    await slack_api.wait_for_answers(1)


async def test_url_verification_and_bot_messages(slack, slack_api):
    status, body = await slack.event({"token": "XXYYZZ", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"})
    assert status == 200 and "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in body
    own = dm_event("No, please don't post this", event_id="Ev0OWN")
    own["event"].update(bot_id="B0POLICYBOT", user=BOT_USER_ID)
    edited = dm_event("Can I post photos?", event_id="Ev0EDIT")
    edited["event"]["subtype"] = "message_changed"
    for payload in (own, edited):
        assert (await slack.event(payload))[0] == 200
    await settle()
    assert slack_api.answers() == []


async def test_empty_mention_gets_a_friendly_prompt(slack, slack_api):
    payload = fixture("event_app_mention.json")
    payload["event"]["text"] = f"<@{BOT_USER_ID}>   "
    await slack.event(payload)
    [(_, arguments)] = await slack_api.wait_for_answers(1)
    assert texts.EMPTY_QUESTION.split(",")[0].replace('"', "") in section_texts(arguments["blocks"]).replace('"', "")


async def test_a_dm_with_a_screenshot_attached_is_answered(slack, slack_api):
    shared = dm_event("Can I post this on my Instagram? It shows my class on sports day", event_id="Ev0FILE")
    shared["event"]["subtype"] = "file_share"
    shared["event"]["files"] = [{"id": "F0SCREEN", "name": "screenshot.png", "mimetype": "image/png"}]
    assert (await slack.event(shared))[0] == 200
    await slack_api.wait_for_answers(1)
