"""Teams activities in, neutral messages out. Reads the activity's JSON shape only (the Bot Framework
protocol), so it is tested on recorded payloads.

What arrives:
- a typed message: `text`, with `<at>bot</at>` in front when the bot is @mentioned in a channel or group chat;
- an `Action.Submit` click: a message with no text whose `value` is the action's data and whose
  `replyToId` is the card's message id;
- an `Action.Execute` click: an `invoke` named `adaptiveCard/action`, the data in `value.action.data`;
- a picture pasted into the chat: an attachment of type `image/*` (Teams says no more than that) whose
  `contentUrl` is on the Bot Connector and needs the bot's token, with the message's HTML (`<div><img …>`)
  as its text and again as a `text/html` attachment;
- a file attached with the paperclip (the manifest's `supportsFiles`): an attachment of type
  `application/vnd.microsoft.teams.file.download.info` whose `content.downloadUrl` is a pre-authorised link.

Files become `IncomingFile`s whose `fetch` is built from a `FileSource` by the caller (the agent downloads;
translating never touches the network), so no address or platform file id reaches a flow.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import mimetypes
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from microsoft_agents.activity import Activity, Attachment

from bot.teams.cards import (
    ACTION_ID_KEY, EMPTY_CHOICE_VALUE, FORM_ID_KEY, PRIVATE_METADATA_KEY, RESERVED_KEYS, VALUE_KEY,
)
from handlers.messages import ButtonClick, ConversationRef, FormSubmission, IncomingFile, IncomingMessage

PLATFORM = "teams"
PERSONAL = "personal"
FILE_DOWNLOAD_INFO = "application/vnd.microsoft.teams.file.download.info"
MAX_FILES = 10  # a message's attachments taken; Teams allows about as many
_TAGS = re.compile(r"<[^>]+>")
_DATA_URL = re.compile(r"^data:(?P<type>[\w.+-]+/[\w.+*-]+)?(?P<params>(?:;[^,;]*)*?)(?P<base64>;base64)?,", re.IGNORECASE)


@dataclass(frozen=True)
class FileSource:
    """Where an attachment's bytes are. `bot_token`: the address is the Bot Connector's and wants the bot's
    own token (a pasted picture); otherwise it is fetched as it is (a pre-authorised link, a data: URL)."""

    url: str
    bot_token: bool


# Turns a file's source into the download the flow calls (the agent's `FileDownloader.fetcher`).
Fetcher = Callable[[FileSource], Callable[[], Awaitable[bytes]]]


def conversation_ref(activity: Activity) -> ConversationRef:
    """Where the activity came from; `raw` is the Bot Framework conversation reference a proactive
    message needs later (service URL, conversation, bot, user), without the activity id. The user's
    display name stays in it (`user.name`): it is how storage lists the people the bot knows, for a form's
    "who posted it" (`repository.list_known_people`). The report flow stores no reference at all."""
    reference = activity.get_conversation_reference().model_dump(mode="json", by_alias=True, exclude_none=True)
    for key in ("activityId", "requestId"):
        reference.pop(key, None)
    user = activity.from_property
    return ConversationRef(
        platform=PLATFORM,
        conversation_id=activity.conversation.id,
        user_id=(user.id if user else "") or "",
        # Only for a flow that is told to keep it (a reporter who chose to give their name).
        user_name=(user.name if user else "") or "",
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


def data_url_size(url: str) -> int:
    """The decoded size of a data: URL's bytes, without decoding them; 0 when it is not a readable one."""
    match = _DATA_URL.match(url)
    if match is None:
        return 0
    payload = url[match.end():]
    if not match.group("base64"):
        return len(payload)  # percent-encoded bytes: near enough, as platforms' sizes are
    payload = payload.rstrip()
    return max(0, len(payload) * 3 // 4 - (len(payload) - len(payload.rstrip("="))))


def decode_data_url(url: str) -> bytes:
    """The bytes of a data: URL. Raises ValueError when it is not one."""
    from urllib.parse import unquote_to_bytes

    match = _DATA_URL.match(url)
    if match is None:
        raise ValueError("not a data: URL")
    payload = url[match.end():]
    if not match.group("base64"):
        return unquote_to_bytes(payload)
    try:
        return base64.b64decode("".join(payload.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the data: URL is not valid base64") from None


# Teams says a file's type by its extension (`fileType`); phones' pictures (HEIC) are missing from Python's table.
_IMAGE_TYPES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp",
                "heic": "image/heic", "heif": "image/heif", "bmp": "image/bmp", "tif": "image/tiff", "tiff": "image/tiff"}


def _mimetype(file_type: str, name: str | None) -> str:
    extension = file_type or (name.rpartition(".")[2] if name and "." in name else "")
    extension = extension.lower().lstrip(".")
    return _IMAGE_TYPES.get(extension) or mimetypes.types_map.get(f".{extension}") or "application/octet-stream"


def _file_name(name: str | None, mimetype: str, number: int) -> str:
    if name and name.strip():
        return name.strip()
    extension = mimetypes.guess_extension(mimetype) if "*" not in mimetype else None
    return f"screenshot-{number}{extension or ''}"


def _attachment_file(attachment: Attachment, number: int, fetcher: Fetcher) -> IncomingFile | None:
    content_type = (attachment.content_type or "").strip().lower()
    if content_type == FILE_DOWNLOAD_INFO:
        content = attachment.content if isinstance(attachment.content, dict) else {}
        url = content.get("downloadUrl")
        if not isinstance(url, str) or not url.lower().startswith(("https://", "http://")):
            return None
        file_type = content.get("fileType") if isinstance(content.get("fileType"), str) else ""
        mimetype = _mimetype(file_type, attachment.name)
        return IncomingFile(
            name=_file_name(attachment.name, mimetype, number),
            mimetype=mimetype,
            size=0,  # Teams does not say
            fetch=fetcher(FileSource(url=url, bot_token=False)),
        )
    if content_type.startswith("image/"):
        url = attachment.content_url
        if not isinstance(url, str):
            return None
        if url.lower().startswith("data:"):
            match = _DATA_URL.match(url)
            if match is None:
                return None
            mimetype = (match.group("type") or content_type).lower()
            source, size = FileSource(url=url, bot_token=False), data_url_size(url)
        elif url.lower().startswith(("https://", "http://")):
            mimetype, source, size = content_type, FileSource(url=url, bot_token=True), 0
        else:
            return None
        return IncomingFile(name=_file_name(attachment.name, mimetype, number), mimetype=mimetype, size=size, fetch=fetcher(source))
    return None  # the message's own HTML (text/html), a card, anything else: not a file


def attached_files(activity: Activity, *, fetcher: Fetcher) -> tuple[IncomingFile, ...]:
    files: list[IncomingFile] = []
    for attachment in activity.attachments or ():
        if len(files) == MAX_FILES:
            break
        file = _attachment_file(attachment, len(files) + 1, fetcher)
        if file is not None:
            files.append(file)
    return tuple(files)


def _no_downloads(_source: FileSource) -> Callable[[], Awaitable[bytes]]:
    async def fetch() -> bytes:
        raise ConnectionError("this adapter cannot download files")

    return fetch


def _as_text(value: object) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _field_value(value: object) -> str:
    """A form field's value as the flow knows it: as submitted (a person field's `person:<Teams user id>`
    or typed name included), except a choice the card could not send as "" (see cards.EMPTY_CHOICE_VALUE)."""
    text = _as_text(value)
    return "" if text == EMPTY_CHOICE_VALUE else text


def _from_action_data(data: dict, *, message_id: str | None) -> tuple[ButtonClick | None, FormSubmission | None]:
    if isinstance(data.get(FORM_ID_KEY), str):
        values = {key: _field_value(value) for key, value in data.items() if key not in RESERVED_KEYS}
        form = FormSubmission(
            form_id=data[FORM_ID_KEY],
            values=values,
            private_metadata=_as_text(data.get(PRIVATE_METADATA_KEY)),
            # The card that carried the form: the answer replaces it, so what was typed leaves the chat.
            message_id=message_id,
        )
        return None, form
    if isinstance(data.get(ACTION_ID_KEY), str):
        return ButtonClick(action_id=data[ACTION_ID_KEY], value=_as_text(data.get(VALUE_KEY)), message_id=message_id), None
    return None, None


def incoming_message(activity: Activity, *, fetcher: Fetcher = _no_downloads) -> IncomingMessage | None:
    """The neutral message for a message activity or an `adaptiveCard/action` invoke; None when the
    activity carries nothing the bot acts on (a card value that is not ours, an unknown invoke).
    `fetcher` makes each attached file's download (see `FileSource`)."""
    click = form = None
    text = ""
    files: tuple[IncomingFile, ...] = ()
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
            # A picture alone arrives as `<div><img …></div>`: no words once the tags are gone.
            text = message_text(activity)
            files = attached_files(activity, fetcher=fetcher)
    else:
        return None
    return IncomingMessage(
        conversation=conversation_ref(activity),
        is_direct=is_direct(activity),
        text=text,
        click=click,
        form=form,
        event_id=event_id(activity),
        # A card form is private only where nobody else reads the chat.
        form_here=is_direct(activity),
        files=files,
    )
