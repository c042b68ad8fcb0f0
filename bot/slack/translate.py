"""Slack payloads in, neutral messages out. Plain dictionaries only: no SDK here."""

from __future__ import annotations

import html
import re
from collections.abc import Awaitable, Callable

from handlers import actions
from handlers.messages import PERSON_PREFIX, ButtonClick, ConversationRef, FormSubmission, IncomingFile, IncomingMessage

PLATFORM = "slack"
# Given by the adapter: downloads a file's url_private_download with the bot token.
FetchFile = Callable[[str], Awaitable[bytes]]

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


def _ref(*, team_id: str, channel: str, user: str, thread_ts: str | None, user_name: str = "") -> ConversationRef:
    return ConversationRef(
        platform=PLATFORM,
        conversation_id=channel,
        user_id=user,
        thread_id=thread_ts,
        user_name=user_name,
        raw={"team_id": team_id, "channel": channel, "user": user},
    )


def _user_name(user: dict | None) -> str:
    """The Slack username interactions carry (events carry none); kept only where someone chooses to be named."""
    user = user or {}
    return str(user.get("username") or user.get("name") or "")


PERSON_MESSAGE_SUBTYPES = {None, "file_share", "thread_broadcast"}


def is_direct_channel(channel_id: str) -> bool:
    # Slack's ids say what a conversation is: D… is a one-to-one DM.
    return channel_id.startswith("D")


def direct_message(body: dict, *, bot_user_id: str | None, fetch_file: FetchFile | None = None) -> IncomingMessage | None:
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
        # Screenshots shared in the DM ("add evidence to K7QP-3XMD").
        files=_incoming_files(event.get("files"), fetch_file),
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
        conversation=_ref(
            team_id=body.get("team_id", ""), channel=channel, user=body.get("user_id", ""), thread_ts=None,
            user_name=body.get("user_name", ""),
        ),
        is_direct=is_direct_channel(channel),
        text=plain_text(body.get("text", "")),
        # Slash commands have no event id; the trigger id is unique to each invocation.
        event_id=f"command:{body.get('trigger_id', '')}" if body.get("trigger_id") else "",
        private=True,
        trigger_id=body.get("trigger_id"),
        form_here=bool(body.get("trigger_id")),
    )


def _shortcut(body: dict, **content) -> IncomingMessage:
    """A message shortcut, pressed on a message in a channel: answered privately, and its trigger lets
    the adapter open a modal."""
    trigger_id = body.get("trigger_id")
    return IncomingMessage(
        conversation=_ref(
            team_id=(body.get("team") or {}).get("id", ""),
            channel=(body.get("channel") or {}).get("id", ""),
            user=(body.get("user") or {}).get("id", ""),
            thread_ts=None,
            user_name=_user_name(body.get("user")),
        ),
        event_id=f"shortcut:{trigger_id}" if trigger_id else "",
        private=True,
        trigger_id=trigger_id,
        form_here=bool(trigger_id),
        **content,
    )


def message_shortcut(body: dict) -> IncomingMessage:
    """"Can I post this?" on someone's message: the message's text is the question, asked privately."""
    channel = (body.get("channel") or {}).get("id", "")
    return _shortcut(body, is_direct=is_direct_channel(channel), text=plain_text((body.get("message") or {}).get("text", "")))


# The removed message's text as a flow gets it: enough to recognise the post, short enough for a value.
REMOVAL_TEXT_MAX = 1500
_CUT = "…"


def permalink(*, domain: str, channel: str, ts: str, thread_ts: str | None = None) -> str:
    """The address Slack's "Copy link" gives a message (a reply in a thread names its thread); "" when the
    payload does not say enough to build it."""
    if not (domain and channel and ts):
        return ""
    link = f"https://{domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
    return f"{link}?thread_ts={thread_ts}&cid={channel}" if thread_ts and thread_ts != ts else link


def removal_request(body: dict) -> IncomingMessage:
    """"Ask for this to be removed" on a message: a click on REMOVAL_START whose value holds the message
    (its text, its link, who posted it; "" for an app's post). The flow answers with its form."""
    channel = (body.get("channel") or {}).get("id", "")
    message = body.get("message") or {}
    text = plain_text(message.get("text", ""))
    if len(text) > REMOVAL_TEXT_MAX:
        text = text[: REMOVAL_TEXT_MAX - len(_CUT)] + _CUT
    by_an_app = bool(message.get("bot_id")) or message.get("subtype") == "bot_message"
    value = actions.encode({
        "text": text,
        "link": permalink(
            domain=(body.get("team") or {}).get("domain", ""),
            channel=channel,
            ts=message.get("ts") or body.get("message_ts") or "",
            thread_ts=message.get("thread_ts"),
        ),
        "poster_platform": PLATFORM,
        "poster_user_id": "" if by_an_app else message.get("user", ""),
    })
    return _shortcut(body, is_direct=False, click=ButtonClick(action_id=actions.REMOVAL_START, value=value, message_id=""))


MESSAGE_ID_SEPARATOR = ":"


def message_id(*, channel: str, ts: str) -> str:
    """A message's neutral id. Slack needs the channel and the ts to update a message, and flows keep
    only the id (in a form's private metadata, say) and update the message later from elsewhere."""
    return f"{channel}{MESSAGE_ID_SEPARATOR}{ts}" if channel else ts


def split_message_id(neutral_id: str, *, default_channel: str) -> tuple[str, str]:
    """(channel, ts) of a neutral message id; an id without a channel is in `default_channel`."""
    channel, separator, ts = neutral_id.rpartition(MESSAGE_ID_SEPARATOR)
    return (channel, ts) if separator and channel else (default_channel, neutral_id)


def clicked_view(body: dict) -> dict | None:
    """The view (a modal or the App Home tab) a button was clicked in; None for a button on a message."""
    container = body.get("container") or {}
    if container.get("type") != "view":
        return None
    return body.get("view") or {"id": container.get("view_id", ""), "type": ""}


def button_click(body: dict) -> IncomingMessage | None:
    actions = body.get("actions") or []
    if not actions:
        return None
    action = actions[0]
    container = body.get("container") or {}
    user = (body.get("user") or {}).get("id", "")
    team = (body.get("team") or {}).get("id", "") or (body.get("user") or {}).get("team_id", "")
    trigger_id = body.get("trigger_id")
    common = {
        "event_id": f"action:{trigger_id}" if trigger_id else "",
        "trigger_id": trigger_id,
        # A trigger lets the adapter open a modal in answer.
        "form_here": bool(trigger_id),
    }
    if clicked_view(body) is not None:
        # The App Home tab or a modal: only the person sees it, and the answer goes to their DM with
        # the bot (a user id works as a channel there).
        return IncomingMessage(
            conversation=_ref(team_id=team, channel=user, user=user, thread_ts=None, user_name=_user_name(body.get("user"))),
            is_direct=True,
            click=ButtonClick(action_id=action.get("action_id", ""), value=action.get("value", "")),
            private=False,
            **common,
        )
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id", "")
    message = body.get("message") or {}
    ts = container.get("message_ts") or message.get("ts")
    direct = is_direct_channel(channel)
    return IncomingMessage(
        conversation=_ref(
            team_id=team, channel=channel, user=user, thread_ts=message.get("thread_ts"), user_name=_user_name(body.get("user"))
        ),
        is_direct=direct,
        click=ButtonClick(
            action_id=action.get("action_id", ""),
            value=action.get("value", ""),
            message_id=message_id(channel=channel, ts=ts) if ts else None,
        ),
        # In a channel, or on a message only the clicker could see, the answer is for the clicker alone.
        private=not direct or bool(container.get("is_ephemeral")),
        **common,
    )


def _incoming_file(entry: dict, fetch_file: FetchFile | None) -> IncomingFile | None:
    # Only what a flow may keep: the file's id and addresses stay in the closure, never in the message.
    url = entry.get("url_private_download") or entry.get("url_private")
    if not url or fetch_file is None:
        return None

    async def fetch() -> bytes:
        return await fetch_file(url)

    size = entry.get("size")
    return IncomingFile(
        name=str(entry.get("name") or entry.get("title") or ""),
        mimetype=str(entry.get("mimetype") or ""),
        size=size if isinstance(size, int) and size > 0 else 0,
        fetch=fetch,
    )


def _incoming_files(entries, fetch_file: FetchFile | None) -> tuple[IncomingFile, ...]:
    if not isinstance(entries, list):
        return ()
    files = (_incoming_file(entry, fetch_file) for entry in entries if isinstance(entry, dict))
    return tuple(file for file in files if file is not None)


def _input_value(state: dict) -> str | None:
    """What one input holds, as the neutral form has it; None when nothing was chosen."""
    kind = state.get("type")
    if kind == "plain_text_input":
        return state.get("value") or ""
    if kind in ("static_select", "radio_buttons", "external_select"):
        return (state.get("selected_option") or {}).get("value")
    if kind == "checkboxes":
        return "true" if state.get("selected_options") else "false"
    if kind == "users_select":
        # A "person" field: `person:<user id>` when someone was picked.
        user = state.get("selected_user")
        return f"{PERSON_PREFIX}{user}" if user else ""
    if "value" in state:
        return state.get("value") or ""
    return None


def form_submission(body: dict, *, fetch_file: FetchFile | None = None) -> IncomingMessage:
    """A submitted modal. Its answer is shown in the modal or goes to the person's DM with the bot (a
    user id works as a channel). `fetch_file(url)` downloads an uploaded file with the bot's token."""
    view = body.get("view") or {}
    user = (body.get("user") or {}).get("id", "")
    values: dict[str, str] = {}
    files: list[IncomingFile] = []
    for block_id, inputs in ((view.get("state") or {}).get("values") or {}).items():
        for action_id, state in inputs.items():
            # Forms are rendered with block_id == action_id == the field id.
            field_id = block_id if block_id == action_id else action_id
            if state.get("type") == "file_input":
                files.extend(_incoming_files(state.get("files"), fetch_file))
                continue
            value = _input_value(state)
            if value is not None:
                values[field_id] = value
    trigger_id = body.get("trigger_id")
    return IncomingMessage(
        conversation=_ref(
            team_id=(body.get("team") or {}).get("id", ""), channel=user, user=user, thread_ts=None,
            user_name=_user_name(body.get("user")),
        ),
        is_direct=True,
        form=FormSubmission(
            form_id=view.get("callback_id", ""),
            values=values,
            private_metadata=view.get("private_metadata", ""),
            files=tuple(files),
        ),
        event_id=f"view:{trigger_id}" if trigger_id else "",
        # The answer can be another form, shown in place of this one (response_action "update").
        form_here=True,
    )


def home_opened(body: dict) -> ConversationRef | None:
    """The person who opened the bot's App Home tab; None for its Messages and About tabs."""
    event = body.get("event") or {}
    user = event.get("user")
    if event.get("tab") != "home" or not user:
        return None
    return _ref(team_id=body.get("team_id", ""), channel=user, user=user, thread_ts=None)
