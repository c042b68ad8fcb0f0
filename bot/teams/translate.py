"""Teams activities in, neutral messages out. Reads the activity's JSON shape only (the Bot Framework
protocol), so it is tested on recorded payloads.

What arrives:
- a typed message: `text`, with `<at>bot</at>` in front when the bot is @mentioned in a channel or group chat;
- an `Action.Submit` click: a message with no text whose `value` is the action's data and whose
  `replyToId` is the card's message id;
- an `Action.Execute` click: an `invoke` named `adaptiveCard/action`, the data in `value.action.data`.
"""

from __future__ import annotations

import hashlib
import html
import re

from microsoft_agents.activity import Activity

from bot.teams.cards import ACTION_ID_KEY, FORM_ID_KEY, PRIVATE_METADATA_KEY, RESERVED_KEYS, VALUE_KEY
from handlers.messages import ButtonClick, ConversationRef, FormSubmission, IncomingMessage

PLATFORM = "teams"
PERSONAL = "personal"
_TAGS = re.compile(r"<[^>]+>")


def conversation_ref(activity: Activity) -> ConversationRef:
    """Where the activity came from; `raw` is the Bot Framework conversation reference a proactive
    message needs later (service URL, conversation, bot, user), without names or the activity id."""
    reference = activity.get_conversation_reference().model_dump(mode="json", by_alias=True, exclude_none=True)
    for key in ("activityId", "requestId"):
        reference.pop(key, None)
    if isinstance(reference.get("user"), dict):
        reference["user"].pop("name", None)  # the id is enough to write to someone; keep no more
    user = activity.from_property
    return ConversationRef(
        platform=PLATFORM,
        conversation_id=activity.conversation.id,
        user_id=(user.id if user else "") or "",
        raw=reference,
    )


def is_direct(activity: Activity) -> bool:
    conversation_type = getattr(activity.conversation, "conversation_type", None)
    # Teams marks one-to-one chats "personal"; other channels (the emulator's webchat) may omit it.
    return conversation_type in (PERSONAL, None)


def message_text(activity: Activity) -> str:
    """The text typed, without the bot's @mention and the little HTML Teams wraps around it."""
    text = activity.remove_recipient_mention() if activity.recipient else (activity.text or "")
    if activity.text_format == "xml" or "<" in text:
        text = _TAGS.sub(" ", text)
    return " ".join(html.unescape(text).split())


def event_id(activity: Activity) -> str:
    """The de-duplication key of a delivery. Teams message ids are millisecond timestamps, unique only
    within a conversation, so the conversation is part of the key (hashed: its ids run to 150 characters)."""
    conversation = hashlib.sha256(activity.conversation.id.encode()).hexdigest()[:16]
    return f"{activity.id}@{conversation}" if activity.id else ""


def _as_text(value: object) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _from_action_data(data: dict, *, message_id: str | None) -> tuple[ButtonClick | None, FormSubmission | None]:
    if isinstance(data.get(FORM_ID_KEY), str):
        values = {key: _as_text(value) for key, value in data.items() if key not in RESERVED_KEYS}
        form = FormSubmission(
            form_id=data[FORM_ID_KEY],
            values=values,
            private_metadata=_as_text(data.get(PRIVATE_METADATA_KEY)),
        )
        return None, form
    if isinstance(data.get(ACTION_ID_KEY), str):
        return ButtonClick(action_id=data[ACTION_ID_KEY], value=_as_text(data.get(VALUE_KEY)), message_id=message_id), None
    return None, None


def incoming_message(activity: Activity) -> IncomingMessage | None:
    """The neutral message for a message activity or an `adaptiveCard/action` invoke; None when the
    activity carries nothing the bot acts on (a card value that is not ours, an unknown invoke)."""
    click = form = None
    text = ""
    if activity.type == "invoke":
        if activity.name != "adaptiveCard/action" or not isinstance(activity.value, dict):
            return None
        action = activity.value.get("action")
        data = action.get("data") if isinstance(action, dict) else None
        if not isinstance(data, dict):
            return None
        if ACTION_ID_KEY not in data and FORM_ID_KEY not in data and isinstance(action.get("verb"), str):
            data = {ACTION_ID_KEY: action["verb"], **data}
        click, form = _from_action_data(data, message_id=activity.reply_to_id)
        if click is None and form is None:
            return None
    elif activity.type == "message":
        if isinstance(activity.value, dict):
            click, form = _from_action_data(activity.value, message_id=activity.reply_to_id)
            if click is None and form is None:
                return None
        else:
            text = message_text(activity)
    else:
        return None
    return IncomingMessage(
        conversation=conversation_ref(activity),
        is_direct=is_direct(activity),
        text=text,
        click=click,
        form=form,
        event_id=event_id(activity),
    )
