"""Slack payloads in, neutral messages out. Plain dictionaries only: no SDK here."""

from __future__ import annotations

import html
import re

from handlers.messages import ButtonClick, ConversationRef, FormSubmission, IncomingMessage

PLATFORM = "slack"

# `<https://example.org|label>` and `<mailto:a@b|a@b>`: keep what the person saw.
_LINK = re.compile(r"<((?:https?|mailto):[^|>]*)(?:\|([^>]*))?>")


def plain_text(text: str, *, bot_user_id: str | None = None) -> str:
    """The text as the person typed it: the bot's own mention removed, links shown as their label and
    Slack's `&amp;`/`&lt;`/`&gt;` turned back into characters. Other `<!channel>`-style tokens stay,
    and the renderer escapes them again on the way out."""
    if bot_user_id:
        text = text.replace(f"<@{bot_user_id}>", " ")
    text = _LINK.sub(lambda match: match.group(2) or match.group(1), text)
    return html.unescape(text).strip() if "&" in text else text.strip()


def _ref(*, team_id: str, channel: str, user: str, thread_ts: str | None) -> ConversationRef:
    return ConversationRef(
        platform=PLATFORM,
        conversation_id=channel,
        user_id=user,
        thread_id=thread_ts,
        raw={"team_id": team_id, "channel": channel, "user": user},
    )


PERSON_MESSAGE_SUBTYPES = {None, "file_share", "thread_broadcast"}


def is_direct_channel(channel_id: str) -> bool:
    # Slack's ids say what a conversation is: D… is a one-to-one DM.
    return channel_id.startswith("D")


def direct_message(body: dict, *, bot_user_id: str | None) -> IncomingMessage | None:
    """A person's message in their DM with the bot; None for edits, bot posts and other channels."""
    event = body.get("event") or {}
    if event.get("channel_type") != "im" or event.get("bot_id") or not event.get("user"):
        return None
    # Edits, deletions and joins carry a subtype; a message with a screenshot attached does too.
    if event.get("subtype") not in PERSON_MESSAGE_SUBTYPES:
        return None
    return IncomingMessage(
        conversation=_ref(
            team_id=body.get("team_id", ""),
            channel=event.get("channel", ""),
            user=event["user"],
            thread_ts=event.get("thread_ts"),
        ),
        is_direct=True,
        text=plain_text(event.get("text", ""), bot_user_id=bot_user_id),
        event_id=body.get("event_id", ""),
    )


def mention(body: dict, *, bot_user_id: str | None) -> IncomingMessage | None:
    """An @policybot mention in a channel; answered in the thread it started or belongs to."""
    event = body.get("event") or {}
    if event.get("bot_id") or not event.get("user"):
        return None
    return IncomingMessage(
        conversation=_ref(
            team_id=body.get("team_id", ""),
            channel=event.get("channel", ""),
            user=event["user"],
            thread_ts=event.get("thread_ts") or event.get("ts"),
        ),
        is_direct=False,
        text=plain_text(event.get("text", ""), bot_user_id=bot_user_id),
        event_id=body.get("event_id", ""),
    )


def slash_command(body: dict) -> IncomingMessage:
    channel = body.get("channel_id", "")
    return IncomingMessage(
        conversation=_ref(team_id=body.get("team_id", ""), channel=channel, user=body.get("user_id", ""), thread_ts=None),
        is_direct=is_direct_channel(channel),
        text=plain_text(body.get("text", "")),
        # Slash commands have no event id; the trigger id is unique to each invocation.
        event_id=f"command:{body.get('trigger_id', '')}" if body.get("trigger_id") else "",
        private=True,
        trigger_id=body.get("trigger_id"),
    )


def message_shortcut(body: dict) -> IncomingMessage:
    """"Can I post this?" on someone's message: the message's text is the question, asked privately."""
    channel = (body.get("channel") or {}).get("id", "")
    message = body.get("message") or {}
    return IncomingMessage(
        conversation=_ref(
            team_id=(body.get("team") or {}).get("id", ""),
            channel=channel,
            user=(body.get("user") or {}).get("id", ""),
            thread_ts=None,
        ),
        is_direct=is_direct_channel(channel),
        text=plain_text(message.get("text", "")),
        event_id=f"shortcut:{body.get('trigger_id', '')}" if body.get("trigger_id") else "",
        private=True,
        trigger_id=body.get("trigger_id"),
    )


def button_click(body: dict) -> IncomingMessage | None:
    actions = body.get("actions") or []
    if not actions:
        return None
    action = actions[0]
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id", "")
    message = body.get("message") or {}
    direct = is_direct_channel(channel)
    return IncomingMessage(
        conversation=_ref(
            team_id=(body.get("team") or {}).get("id", ""),
            channel=channel,
            user=(body.get("user") or {}).get("id", ""),
            thread_ts=message.get("thread_ts"),
        ),
        is_direct=direct,
        click=ButtonClick(
            action_id=action.get("action_id", ""),
            value=action.get("value", ""),
            message_id=container.get("message_ts") or message.get("ts"),
        ),
        event_id=f"action:{body.get('trigger_id', '')}" if body.get("trigger_id") else "",
        # In a channel, or on a message only the clicker could see, the answer is for the clicker alone.
        private=not direct or bool(container.get("is_ephemeral")),
        trigger_id=body.get("trigger_id"),
    )


def form_submission(body: dict) -> IncomingMessage:
    """A submitted modal. Its answer goes to the person's DM with the bot (a user id works as a channel)."""
    view = body.get("view") or {}
    user = (body.get("user") or {}).get("id", "")
    values: dict[str, str] = {}
    for block_id, inputs in ((view.get("state") or {}).get("values") or {}).items():
        for action_id, state in inputs.items():
            # Forms are rendered with block_id == action_id == the field id.
            values[block_id if block_id == action_id else action_id] = state.get("value") or ""
    return IncomingMessage(
        conversation=_ref(team_id=(body.get("team") or {}).get("id", ""), channel=user, user=user, thread_ts=None),
        is_direct=True,
        form=FormSubmission(
            form_id=view.get("callback_id", ""),
            values=values,
            private_metadata=view.get("private_metadata", ""),
        ),
        event_id=f"view:{body.get('trigger_id', '')}" if body.get("trigger_id") else "",
    )
