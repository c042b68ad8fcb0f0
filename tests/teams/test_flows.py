"""Conversations through the real aiohttp app and the Agents SDK: activity JSON in, Bot Connector calls out."""

from __future__ import annotations

import json
import re

from bot.teams.cards import CARD_CONTENT_TYPE
from handlers import texts
from storage import repository as repo

from .recording_connector import ConnectorCall

QUESTION = "Can I put photos of my class on my personal Instagram?"


def shown(markdown: str) -> str:
    """What a card's text shows once its Markdown escapes are read (the cards escape every text)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def card_texts(card: dict) -> list[str]:
    """Every TextBlock's text as shown."""
    found = []

    def walk(items):
        for item in items:
            if item.get("type") == "TextBlock":
                found.append(shown(item["text"]))
            walk(item.get("items", ()))

    walk(card["body"])
    return found


def action_titled(card: dict, title: str) -> dict:
    return next(action for action in card.get("actions", ()) if action["title"] == title)


async def ask(bot, connector, activity, *, text: str = QUESTION, activity_id: str = "question-1") -> ConnectorCall:
    before = len(connector.calls)
    response = await bot.post_activity(activity("message_personal", id=activity_id, text=text))
    assert response.status == 202
    calls = await connector.wait_for(before + 1)
    return calls[before]


async def test_question_gets_an_adaptive_card_with_verdict_and_quoted_clauses(bot, connector, activity, settings, core):
    reply = await ask(bot, connector, activity)

    conversation = "e71fcc26-7094-4efb-b6a4-577c8c587b86"
    assert reply.method == "POST"
    assert reply.path == f"/_connector/v3/conversations/{conversation}/activities/question-1"  # a reply to it
    assert reply.body["attachments"][0]["contentType"] == CARD_CONTENT_TYPE
    card = reply.card
    heading = card["body"][0]
    icon, title = texts.VERDICT_HEADINGS["not_allowed"]
    assert heading["text"] == f"{icon} {title}"
    assert heading["color"] == "Attention"
    quotes = next(item for item in card["body"] if item["type"] == "Container")["items"]
    policy = " ".join(settings.policy_path.read_text(encoding="utf-8").split())
    quoted = [shown(block["text"]).strip("“”") for block in quotes[1:] if block["text"].startswith("“")]
    assert quoted, "the answer quotes the clauses it rests on"
    for quote in quoted:
        assert " ".join(quote.split()) in policy
    sections = [block["text"] for block in quotes[1:] if not block["text"].startswith("“")]
    assert len(sections) == len(quoted) and all(sections)
    ask_button = action_titled(card, texts.ASK_HEADTEACHER_BUTTON)
    assert ask_button["type"] == "Action.Submit"
    assert ask_button["data"]["action_id"] == "policybot.ask_headteacher"
    # The value is signed by the bot; what it signed is the question.
    assert json.loads(core.signer.button_value(action_id=ask_button["data"]["action_id"], signed=ask_button["data"]["value"]))["question"] == QUESTION


async def assign_headteacher(core, user_id: str = "29:headteacher") -> None:
    async with core.database.transaction() as session:
        await repo.assign_role(session=session, role=repo.HEADTEACHER, platform="teams", user_id=user_id)


async def test_action_submit_click_reaches_the_headteacher_flow(bot, connector, activity, core):
    await assign_headteacher(core)
    answer = await ask(bot, connector, activity)
    button = action_titled(answer.card, texts.ASK_HEADTEACHER_BUTTON)

    before = len(connector.calls)
    click = activity("action_submit", id="click-1", replyToId="connector-activity-1", value=button["data"])
    response = await bot.post_activity(click)

    assert response.status == 202
    confirmation = (await connector.wait_for(before + 1))[before]
    # The answer card is updated in place, so its button is gone.
    assert confirmation.method == "PUT" and confirmation.path.endswith("/activities/connector-activity-1")
    assert texts.ASK_HEADTEACHER_SENT_TITLE.format(headteacher="Mrs Patel") in " ".join(card_texts(confirmation.card))
    assert "actions" not in confirmation.card
    async with core.database.transaction() as session:
        queued = await repo.claim_notifications(session=session, worker_id="test")
    assert [(n.kind, n.recipient_role, n.payload["question"]) for n in queued] == [("escalation_opened", "headteacher", QUESTION)]
    assert queued[0].payload["requester_user_id"] == "user-id-0"


async def test_action_execute_click_is_answered_with_an_invoke_response(bot, connector, activity, core):
    await assign_headteacher(core)
    answer = await ask(bot, connector, activity)
    button = action_titled(answer.card, texts.ASK_HEADTEACHER_BUTTON)

    before = len(connector.calls)
    invoke = activity(
        "invoke_action_execute",
        id="click-2",
        replyToId="connector-activity-1",
        value={"action": {"type": "Action.Execute", "verb": button["data"]["action_id"], "data": button["data"]}},
    )
    response = await bot.post_activity(invoke)

    assert response.status == 200
    body = await response.json()
    assert body["statusCode"] == 200
    # Teams swaps the clicked card for the confirmation, without its buttons.
    assert body["type"] == "application/vnd.microsoft.card.adaptive"
    assert texts.ASK_HEADTEACHER_SENT_TITLE.format(headteacher="Mrs Patel") in " ".join(card_texts(body["value"]))
    assert "actions" not in body["value"]
    assert len(connector.calls) == before


async def test_the_same_activity_delivered_twice_is_answered_once(bot, connector, activity):
    first = await bot.post_activity(activity("message_personal", id="retried-1", text=QUESTION))
    second = await bot.post_activity(activity("message_personal", id="retried-1", text=QUESTION))

    assert (first.status, second.status) == (202, 202)
    assert len(connector.messages()) == 1


async def test_the_same_activity_id_in_another_conversation_is_a_new_message(bot, connector, activity):
    await bot.post_activity(activity("message_personal", id="1795609100123", text=QUESTION))
    other = activity("message_personal", id="1795609100123", text=QUESTION)
    other["conversation"] = {**other["conversation"], "id": "a:another-personal-chat"}
    await bot.post_activity(other)

    assert len(connector.messages()) == 2


async def test_channel_mention_is_stripped_and_the_reply_stays_in_the_thread(bot, connector, activity, core):
    response = await bot.post_activity(activity("message_channel_mention"))

    assert response.status == 202
    reply = (await connector.wait_for(1))[0]
    conversation = "19:0f1e2d3c4b5a69788796a5b4c3d2e1f0@thread.tacv2;messageid=1795609100123"
    assert reply.path == f"/_connector/v3/conversations/{conversation}/activities/1795609100123"
    issued = [core.signer.button_value(action_id=action["data"]["action_id"], signed=action["data"]["value"]) for action in reply.card["actions"]]
    values = [json.loads(value) for value in issued if value != "{}"]
    assert values[0]["question"] == "can I post my class's photos on my personal Instagram?"


async def test_conversation_references_are_stored_on_install_and_on_messages(bot, connector, activity, core):
    assert (await bot.post_activity(activity("installation_update"))).status == 202
    async with core.database.transaction() as session:
        stored = await repo.get_conversation_reference(session=session, platform="teams", user_id="user-id-0")
    assert stored["serviceUrl"] == connector.base_url
    assert stored["conversation"]["id"] == "e71fcc26-7094-4efb-b6a4-577c8c587b86"
    assert stored["bot"]["id"] == "00000000-0000-0000-0000-00000000000011"
    assert "activityId" not in stored

    moved = activity("message_personal", id="moved-1")
    moved["serviceUrl"] = connector.base_url + "/emea"  # Teams may move a tenant to another regional service
    await bot.post_activity(moved)
    async with core.database.transaction() as session:
        stored = await repo.get_conversation_reference(session=session, platform="teams", user_id="user-id-0")
    assert stored["serviceUrl"] == connector.base_url + "/emea"
    assert stored["user"]["name"] == "Alex Wilber"  # how the people the bot knows are listed (list_known_people)


async def test_a_channel_never_replaces_the_one_to_one_reference(bot, connector, activity, core):
    """The store keeps one reference a person for DMs: a channel's would send their DMs to the channel."""
    personal = activity("message_personal", id="dm-1")
    personal["from"]["id"] = "29:1a2b3c4d5e6f-staff-member"
    await bot.post_activity(personal)
    await bot.post_activity(activity("message_channel_mention"))
    await connector.wait_for(2)

    async with core.database.transaction() as session:
        stored = await repo.get_conversation_reference(
            session=session, platform="teams", user_id="29:1a2b3c4d5e6f-staff-member"
        )
    assert stored["conversation"]["conversationType"] == "personal"


async def test_bot_added_to_a_conversation_stores_the_reference_and_says_nothing(bot, connector, activity, core):
    assert (await bot.post_activity(activity("conversation_update_bot_added"))).status == 202
    async with core.database.transaction() as session:
        stored = await repo.get_conversation_reference(session=session, platform="teams", user_id="user-id-0")
    assert stored is not None
    assert connector.calls == []


async def test_a_card_value_that_is_not_ours_is_ignored(bot, connector, activity):
    response = await bot.post_activity(activity("action_submit", id="odd-1", value={"something": "else"}))

    assert response.status == 202
    assert connector.calls == []
