"""Neutral replies in, Block Kit out. Everything a person or the policy wrote is escaped, so a
`<!channel>`, `<@U123>` or `<https://x|label>` in a question can never ping anyone or hide a link, and
every Block Kit limit is respected (a cut never falls inside an `&amp;`).

Slack also links bare addresses (`https://evil.example`, `www.evil.example`, `evil.com`) in mrkdwn and in a
message's `text`. A report or a question is a person's words shown by the bot to another person (the
headteacher), where a link looks like one the bot sends: so every shown text is defused as on Teams
(`handlers.shown_text`): it reads as typed and nothing is clickable. mrkdwn objects are also `verbatim`, so Slack does not parse names or
addresses in them itself. Values that come back (a form's initial values, options', buttons') are never
defused; every string is made valid Unicode (a lone surrogate becomes U+FFFD), as UTF-8 cannot carry one."""

from __future__ import annotations

import re
from collections.abc import Sequence

from handlers import decision_texts, texts
from handlers.messages import PERSON_PREFIX, Choice, Fact, Form, FormField, Reply
from handlers.shown_text import shown_prefix, shown_text, typed_text, whole
from handlers.splitting import split_text

# Block Kit's limits (https://docs.slack.dev/reference/block-kit/blocks).
SECTION_TEXT_MAX = 3000
FIELD_TEXT_MAX = 2000
FIELDS_PER_SECTION = 10
FACT_LABEL_MAX = 200  # of a field's 2 000: a fact's label is a few words of ours
HEADING_MAX = 300
BLOCKS_MAX = 50
BUTTONS_PER_ACTIONS_BLOCK = 25
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
ACTION_ID_MAX = 255
CONTEXT_TEXT_MAX = 3000
# Messages have failed with msg_blocks_too_long at about 13 000 characters of blocks: stay well under.
MESSAGE_TEXT_BUDGET = 11_000
FALLBACK_TEXT_MAX = 3000
MODAL_TITLE_MAX = 24
MODAL_BUTTON_MAX = 24
PRIVATE_METADATA_MAX = 3000
INPUT_LABEL_MAX = 2000
PLACEHOLDER_MAX = 150
HINT_MAX = 2000
TEXT_INPUT_MAX = 3000
MODAL_BLOCKS_MAX = 100
HOME_BLOCKS_MAX = 100
OPTIONS_MAX = 100
OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 150
# Screenshots only; a file_input takes at most 10 files.
IMAGE_FILETYPES = ("png", "jpg", "jpeg", "gif", "webp", "heic")
MAX_FILES = 5
TOGGLE_ON = "true"
# A modal needs a title: the app's own name when neither the form nor the reply has one. The close
# button of a modal that shows an answer (no form left to cancel). handlers/texts may reword both.
DEFAULT_VIEW_TITLE = getattr(texts, "FORM_DEFAULT_TITLE", "policybot")
CLOSE_LABEL = getattr(texts, "FORM_CLOSE", "Close")
# The last line of an App Home tab that had more to show than Slack's 100 blocks.
# A Slack user id (U… or, on Enterprise Grid, W…): safe in a mention or as a people picker's initial user.
SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")
PLATFORM = "slack"

SHORTENED = "…"


def escape(text: str) -> str:
    """Slack's mrkdwn escaping (only these three characters are control characters) of the defused text."""
    return shown_text(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def shorten(text: str, limit: int) -> str:
    """`text` in at most `limit` characters; escaped text is cut before an entity, never inside one."""
    if len(text) <= limit:
        return text
    return shown_prefix(text, _before_entity(text, limit - len(SHORTENED))) + SHORTENED


def _before_entity(text: str, cut: int) -> int:
    """A cut moved back so it never falls inside an `&amp;`-style entity of escaped text."""
    entity = text.rfind("&", max(cut - 4, 0), cut)
    return entity if entity != -1 and ";" not in text[entity:cut] else cut


def _chunks(text: str, limit: int) -> list[str]:
    # Each piece shown again: a hard cut can end a word where it makes an address ("evil.com|00"), or part
    # "mailto:" from its word joiner (one character, hence the room).
    return [shown_text(piece) for piece in split_text(text, limit - 1, adjust_hard_cut=_before_entity)]


def _mrkdwn(text: str) -> dict:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _section(mrkdwn: str) -> dict:
    return {"type": "section", "text": _mrkdwn(mrkdwn)}


def _sections(mrkdwn: str) -> list[dict]:
    # Slack refuses a section whose text is empty or only spaces.
    return [_section(piece) for piece in _chunks(mrkdwn, SECTION_TEXT_MAX) if piece.strip()]


def _context(text: str) -> dict:
    return {"type": "context", "elements": [_mrkdwn(shorten(escape(text), CONTEXT_TEXT_MAX))]}


def _quote(*, section: str, text: str) -> str:
    quoted = "\n".join(f"&gt; {line}" if line else "&gt;" for line in escape(text).splitlines())
    return f"*{escape(section)}*\n{quoted}" if section else quoted


def _button(button) -> dict:
    element = {
        "type": "button",
        "text": _plain(button.label, BUTTON_TEXT_MAX),
        "action_id": whole(button.action_id)[:ACTION_ID_MAX],
    }
    if button.value:
        # A value longer than Slack allows would make the whole message fail; flows keep theirs short.
        element["value"] = whole(button.value)[:BUTTON_VALUE_MAX]
    if button.style:
        element["style"] = button.style
    return element


def fallback_text(reply: Reply) -> str:
    """The notification and screen-reader text: mrkdwn too, so escaped as well."""
    heading = " ".join(part for part in (reply.icon, reply.title) if part)
    text = f"{heading}: {reply.text}" if heading and reply.text else heading or reply.text
    return shorten(escape(text), FALLBACK_TEXT_MAX)


def _fact_value(fact: Fact, limit: int) -> str:
    """A person as a mention when they are in this workspace (a user id cannot carry anything typed), else
    their name, with the platform they are on."""
    person = fact.person
    if person is None:
        return shorten(escape(fact.value), limit)
    if person.platform == PLATFORM and SLACK_USER_ID.match(person.user_id):
        return f"<@{person.user_id}>"
    if person.platform == PLATFORM:
        return shorten(escape(fact.value or person.user_id), limit)
    who = texts.ASKED_BY_ELSEWHERE.format(who=fact.value or person.user_id, platform=person.platform.title())
    return shorten(escape(who), limit)


def _fact(fact: Fact) -> dict:
    # The label is short; the value has the rest of the field. Each is cut on its own, so a cut can never
    # fall inside a mention or an entity.
    label = f"*{shorten(escape(fact.label), FACT_LABEL_MAX)}*\n"
    return _mrkdwn(label + _fact_value(fact, FIELD_TEXT_MAX - len(label)))


def blocks(reply: Reply) -> list[dict]:
    content: list[dict] = []
    title = f"*{shorten(escape(reply.title), HEADING_MAX)}*" if reply.title else ""
    heading = " ".join(part for part in (shown_text(reply.icon), title) if part)
    if heading.strip():
        content.append(_section(heading))
    content.extend(_sections(escape(reply.text)))
    for quote in reply.quotes:
        content.extend(_sections(_quote(section=quote.section, text=quote.text)))
    facts = [_fact(fact) for fact in reply.facts]
    for start in range(0, len(facts), FIELDS_PER_SECTION):
        content.append({"type": "section", "fields": facts[start : start + FIELDS_PER_SECTION]})

    buttons = [_button(button) for button in reply.buttons]
    action_blocks = [
        {"type": "actions", "elements": buttons[start : start + BUTTONS_PER_ACTIONS_BLOCK]}
        for start in range(0, len(buttons), BUTTONS_PER_ACTIONS_BLOCK)
    ]
    return _fit(content, action_blocks)


def _size(block: dict) -> int:
    if "text" in block:
        return len(block["text"]["text"])
    if "fields" in block:
        return sum(len(field["text"]) for field in block["fields"])
    if "elements" in block:
        return sum(len(e.get("text", {}).get("text", "")) + len(e.get("value", "")) for e in block["elements"])
    return 0


def _fit(content: list[dict], action_blocks: list[dict]) -> list[dict]:
    """Keep the buttons (they are how the person acts on the answer) and as much content, in order, as
    fits in the block count and size budget, saying so when something was left out."""
    note = _context(texts.SHORTENED_NOTE)
    block_room = BLOCKS_MAX - len(action_blocks) - 1
    size_room = MESSAGE_TEXT_BUDGET - sum(_size(block) for block in action_blocks) - len(texts.SHORTENED_NOTE)
    kept: list[dict] = []
    for block in content:
        if len(kept) >= block_room or _size(block) > size_room:
            return [*kept, note, *action_blocks]
        kept.append(block)
        size_room -= _size(block)
    return [*kept, *action_blocks]


def notification_text(reply: Reply) -> str:
    """The message's `text`: what a lock screen and the notification list show. A reply that must say
    less there than in the message (a report's details) sets its own."""
    if reply.notification_text:
        return shorten(escape(reply.notification_text), FALLBACK_TEXT_MAX)
    return fallback_text(reply)


def message(reply: Reply) -> dict:
    """The `text` and `blocks` arguments of chat.postMessage, chat.postEphemeral or a response_url."""
    return {"text": notification_text(reply), "blocks": blocks(reply)}


def _plain(text: str, limit: int) -> dict:
    # plain_text is shown as typed: Slack reads no mentions or markup in it, so no escaping; defused all the
    # same, as a client may still link an address. Slack refuses an empty one: a blank text shows "…".
    shown = shorten(shown_text(text), limit)
    return {"type": "plain_text", "text": shown if shown.strip() else SHORTENED, "emoji": True}


def _option(choice: Choice) -> dict:
    return {"text": _plain(choice.label, OPTION_TEXT_MAX), "value": whole(choice.value)[:OPTION_VALUE_MAX]}


def _text_element(field: FormField) -> dict:
    max_length = max(1, min(field.max_length, TEXT_INPUT_MAX))
    element = {"type": "plain_text_input", "action_id": field.field_id, "multiline": field.multiline, "max_length": max_length}
    if field.initial:
        # What the person typed, sent back as it is when they submit.
        element["initial_value"] = typed_text(field.initial)[:max_length]
    return element


def _choice_element(field: FormField) -> dict:
    options = [_option(choice) for choice in field.choices[:OPTIONS_MAX]]
    element = {"type": "static_select", "action_id": field.field_id, "options": options}
    chosen = next((option for option, choice in zip(options, field.choices) if field.initial and choice.value == field.initial), None)
    if chosen is not None:
        element["initial_option"] = chosen
    return element


def _toggle_element(field: FormField) -> dict:
    option = {"text": _plain(field.label, OPTION_TEXT_MAX), "value": TOGGLE_ON}
    element = {"type": "checkboxes", "action_id": field.field_id, "options": [option]}
    if field.initial == TOGGLE_ON:
        element["initial_options"] = [option]
    return element


def _files_element(field: FormField) -> dict:
    return {"type": "file_input", "action_id": field.field_id, "filetypes": list(IMAGE_FILETYPES), "max_files": MAX_FILES}


def _person_element(field: FormField) -> dict:
    # Slack's own people picker, so the flow's choices (for platforms without one) are not needed. It
    # starts on `person:<user id>` (or a bare user id); anything else (a typed name) cannot be shown in it.
    element = {"type": "users_select", "action_id": field.field_id}
    initial = field.initial.removeprefix(PERSON_PREFIX)
    if SLACK_USER_ID.match(initial):
        element["initial_user"] = initial
    return element


_ELEMENTS = {
    "text": _text_element, "choice": _choice_element, "toggle": _toggle_element, "files": _files_element,
    "person": _person_element,
}
_WITH_PLACEHOLDER = ("text", "choice", "person")


def input_block(field: FormField) -> dict:
    """One form field as an input block; block_id == action_id == the field id (see translate)."""
    if field.kind not in _ELEMENTS:
        raise ValueError(f"no Slack input for a {field.kind!r} field")
    element = _ELEMENTS[field.kind](field)
    if field.placeholder and field.kind in _WITH_PLACEHOLDER:
        element["placeholder"] = _plain(field.placeholder, PLACEHOLDER_MAX)
    block = {
        "type": "input",
        "block_id": field.field_id,
        # An unticked box is an answer ("false"): a required checkbox would refuse it.
        "optional": not field.required or field.kind == "toggle",
        "label": _plain(field.label, INPUT_LABEL_MAX),
        "element": element,
    }
    if field.hint:
        block["hint"] = _plain(field.hint, HINT_MAX)
    return block


def _view_title(*candidates: str) -> dict:
    title = next((candidate.strip() for candidate in candidates if candidate and candidate.strip()), DEFAULT_VIEW_TITLE)
    return _plain(title, MODAL_TITLE_MAX)


def modal(form: Form, *, reply: Reply | None = None) -> dict:
    """A form as a modal view (views.open, or a view_submission's "update"): what a person types there
    stays out of the DM history. `reply` is shown above the inputs (an answer that asks for more)."""
    if len(form.private_metadata) > PRIVATE_METADATA_MAX:
        raise ValueError("a form's private metadata is longer than Slack keeps")
    inputs = [input_block(field) for field in form.fields]
    if len(inputs) > MODAL_BLOCKS_MAX:
        raise ValueError("a form has more fields than a Slack modal holds")
    before: list[dict] = []
    if reply is not None:
        before.extend(blocks(reply))
    if form.intro:
        before.extend(_sections(escape(form.intro)))
    # The inputs are the form: what does not fit is the text above them.
    before = before[: MODAL_BLOCKS_MAX - len(inputs)]
    return {
        "type": "modal",
        "callback_id": form.form_id,
        "title": _view_title(form.title, reply.title if reply is not None else ""),
        "submit": _plain(form.submit_label, MODAL_BUTTON_MAX),
        "close": _plain(texts.FORM_CANCEL, MODAL_BUTTON_MAX),
        "private_metadata": whole(form.private_metadata),
        "blocks": [*before, *inputs],
    }


def form_view(reply: Reply) -> dict:
    """A reply shown where its form was (a view_submission's "update", or views.update from a button in
    a modal): the form again when the reply carries one, otherwise the reply with a close button only."""
    if reply.form is not None:
        return modal(reply.form, reply=reply)
    return {
        "type": "modal",
        "title": _view_title(reply.title),
        "close": _plain(CLOSE_LABEL, MODAL_BUTTON_MAX),
        "blocks": blocks(reply)[:MODAL_BLOCKS_MAX],
    }


def home_view(replies: Sequence[Reply]) -> dict:
    """The App Home tab (views.publish): each reply's blocks in turn, between dividers. Replies that would
    take it past Slack's 100 blocks are left out whole, from the end, and a last line says where they are."""
    parts = [part for part in (blocks(reply) for reply in replies) if part]
    shown: list[dict] = []
    for index, part in enumerate(parts):
        divider = [{"type": "divider"}] if shown else []
        # Room for the closing line too, while more replies follow.
        room = HOME_BLOCKS_MAX - (1 if index < len(parts) - 1 else 0)
        if len(shown) + len(divider) + len(part) > room:
            return {"type": "home", "blocks": [*shown, _context(decision_texts.HOME_MORE)]}
        shown.extend([*divider, *part])
    return {"type": "home", "blocks": shown}
