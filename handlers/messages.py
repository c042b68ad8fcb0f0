"""The neutral message types: what every platform adapter turns its payloads into, and what every
flow answers with. Nothing here knows about Slack or Teams."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class ConversationRef:
    """Where a message came from and where a reply goes back to."""

    platform: str  # "slack", "teams" or "terminal": a label for storage and logs, never for branching
    conversation_id: str  # Slack channel or DM id, Teams conversation id
    user_id: str  # the platform's id for the person talking
    thread_id: str | None = None  # reply in this thread (Slack thread_ts, Teams reply chain)
    # The person's name as the platform gives it, when it does. Kept only where they choose to be named.
    user_name: str = field(default="", compare=False)
    raw: dict = field(default_factory=dict, compare=False)  # the platform's own reference, opaque to flows


@dataclass(frozen=True)
class ButtonClick:
    action_id: str
    value: str = ""
    message_id: str | None = None  # the message or card the button was on, so it can be updated


@dataclass(frozen=True)
class IncomingFile:
    """A file a person attached (a screenshot). `fetch` downloads its bytes through the platform, with the
    bot's own credentials; nothing of the platform's (file id, address) is ever handed to a flow."""

    name: str
    mimetype: str
    size: int  # bytes, as the platform reports it; 0 when it does not say
    fetch: Callable[[], Awaitable[bytes]] = field(compare=False, repr=False)


@dataclass(frozen=True)
class FormSubmission:
    form_id: str
    # Text fields as typed; a choice field's chosen value; a toggle's "true" or "false". Missing: not filled.
    values: dict[str, str]
    private_metadata: str = ""
    files: tuple[IncomingFile, ...] = ()  # from a form's "files" field
    message_id: str | None = None  # the message that carried the form, where the form was a message


@dataclass(frozen=True)
class IncomingMessage:
    """One thing a person did: typed text, clicked a button or submitted a form."""

    conversation: ConversationRef
    is_direct: bool  # a one-to-one chat with the bot
    text: str = ""
    click: ButtonClick | None = None
    form: FormSubmission | None = None
    event_id: str = ""  # the platform's id for this delivery, for de-duplication
    private: bool = False  # answer so only the sender sees it (a slash command)
    trigger_id: str | None = None  # lets the adapter open a form in answer to this message
    # The adapter can show a private form in answer to this message right now (a Slack modal needs a
    # trigger; a Teams card form is private only in a one-to-one chat).
    form_here: bool = False
    files: tuple[IncomingFile, ...] = ()  # files attached to a typed message

    @property
    def sender_id(self) -> str:
        return self.conversation.user_id


@dataclass(frozen=True)
class Button:
    label: str
    action_id: str
    value: str = ""
    style: Literal["primary", "danger"] | None = None


@dataclass(frozen=True)
class Fact:
    label: str
    value: str
    # The person the value names, for renderers that can show them the platform's way (a Slack mention
    # shows their current name); `value` is the name to show otherwise ("" when the platform gave none).
    person: ConversationRef | None = None


@dataclass(frozen=True)
class Quote:
    section: str
    text: str


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


FieldKind = Literal["text", "choice", "toggle", "files", "person"]
PERSON_PREFIX = "person:"


@dataclass(frozen=True)
class FormField:
    """One input. "text": typed text; "choice": one of `choices` (submitted as its value); "toggle": a
    yes/no box (submitted as "true" or "false"); "files": screenshots, where the platform can take them in
    a form (the others say how to send them instead); "person": someone in the workspace, submitted as
    `person:<platform user id>` when picked (a platform's people picker, or one of `choices`, whose values
    the flow makes so), else as the name typed where the platform can offer neither."""

    field_id: str
    label: str
    multiline: bool = False
    required: bool = True
    max_length: int = 3000
    placeholder: str = ""
    kind: FieldKind = "text"
    choices: tuple[Choice, ...] = ()
    initial: str = ""  # a text's, a choice's value or a toggle's "true"/"false" to start with
    hint: str = ""  # one line shown with the field


@dataclass(frozen=True)
class Form:
    form_id: str
    title: str
    submit_label: str
    fields: tuple[FormField, ...]
    intro: str = ""
    private_metadata: str = ""


@dataclass(frozen=True)
class Reply:
    """One message to show. Renderers turn it into Block Kit or an Adaptive Card."""

    text: str  # the plain-text body; also the notification text and the fallback
    title: str = ""
    icon: str = ""  # an emoji shown before the title
    verdict: str | None = None
    quotes: tuple[Quote, ...] = ()
    facts: tuple[Fact, ...] = ()
    buttons: tuple[Button, ...] = ()
    form: Form | None = None  # a form to open instead of (or as well as) a message
    private: bool = False  # only the person who asked sees it
    replaces_message_id: str | None = None  # update this earlier message (e.g. so its buttons disappear)
    # An answer to a submitted form, shown where the form was (the Slack modal, the Teams form card) and
    # never as a new message in the chat: what it holds (a case code and secret) stays out of the history.
    in_form: bool = False
    # The submitted form was not accepted: (field id, what is wrong) pairs, shown on the form, which stays
    # open with what was typed (`form` then holds it again, for platforms that redraw it).
    form_errors: tuple[tuple[str, str], ...] = ()
    # What a phone's lock screen and the notification list show, when it must say less than the message.
    notification_text: str = ""
    # Set on an outbox notification: the same key on every attempt, so a platform that can look up what it
    # already took (Slack's message metadata) sends it once even when a crash hid the first success.
    delivery_key: str = ""
