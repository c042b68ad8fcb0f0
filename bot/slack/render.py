"""Neutral replies in, Block Kit out. Everything a person or the policy wrote is escaped, so a
`<!channel>` or `<@U123>` in a question can never ping anyone, and every Block Kit limit is respected."""

from __future__ import annotations

from handlers import texts
from handlers.messages import Form, Reply

# Block Kit's limits (https://docs.slack.dev/reference/block-kit/blocks).
SECTION_TEXT_MAX = 3000
FIELD_TEXT_MAX = 2000
FIELDS_PER_SECTION = 10
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

SHORTENED = "…"


def escape(text: str) -> str:
    """Slack's mrkdwn escaping: only these three characters are control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(SHORTENED)] + SHORTENED


def _chunks(text: str, limit: int) -> list[str]:
    """Split escaped text into pieces of at most `limit`, at line breaks or spaces where possible and
    never inside an `&amp;`-style entity."""
    pieces = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        if cut < limit // 2:
            cut = text.rfind(" ", 0, limit)
        if cut < limit // 2:
            cut = limit
            entity = text.rfind("&", cut - 5, cut)
            if entity != -1 and ";" not in text[entity:cut]:
                cut = entity
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        pieces.append(text)
    return pieces


def _section(mrkdwn: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}}


def _quote(*, section: str, text: str) -> str:
    quoted = "\n".join(f"&gt; {line}" if line else "&gt;" for line in escape(text).splitlines())
    return f"*{escape(section)}*\n{quoted}" if section else quoted


def _button(button) -> dict:
    element = {
        "type": "button",
        "text": {"type": "plain_text", "text": shorten(button.label, BUTTON_TEXT_MAX), "emoji": True},
        "action_id": button.action_id[:ACTION_ID_MAX],
    }
    if button.value:
        # A value longer than Slack allows would make the whole message fail; flows keep theirs short.
        element["value"] = button.value[:BUTTON_VALUE_MAX]
    if button.style:
        element["style"] = button.style
    return element


def fallback_text(reply: Reply) -> str:
    """The notification and screen-reader text: mrkdwn too, so escaped as well."""
    heading = " ".join(part for part in (reply.icon, reply.title) if part)
    text = f"{heading}: {reply.text}" if heading and reply.text else heading or reply.text
    return shorten(escape(text), FALLBACK_TEXT_MAX)


def blocks(reply: Reply) -> list[dict]:
    content: list[dict] = []
    heading = " ".join(part for part in (reply.icon, f"*{escape(reply.title)}*" if reply.title else "") if part)
    if heading:
        content.append(_section(shorten(heading, SECTION_TEXT_MAX)))
    content.extend(_section(piece) for piece in _chunks(escape(reply.text), SECTION_TEXT_MAX))
    for quote in reply.quotes:
        content.extend(_section(piece) for piece in _chunks(_quote(section=quote.section, text=quote.text), SECTION_TEXT_MAX))
    facts = [
        {"type": "mrkdwn", "text": shorten(f"*{escape(fact.label)}*\n{escape(fact.value)}", FIELD_TEXT_MAX)}
        for fact in reply.facts
    ]
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
    note = {"type": "context", "elements": [{"type": "mrkdwn", "text": escape(texts.SHORTENED_NOTE)}]}
    block_room = BLOCKS_MAX - len(action_blocks) - 1
    size_room = MESSAGE_TEXT_BUDGET - sum(_size(block) for block in action_blocks) - len(texts.SHORTENED_NOTE)
    kept: list[dict] = []
    for block in content:
        if len(kept) >= block_room or _size(block) > size_room:
            return [*kept, note, *action_blocks]
        kept.append(block)
        size_room -= _size(block)
    return [*kept, *action_blocks]


def message(reply: Reply) -> dict:
    """The `text` and `blocks` arguments of chat.postMessage, chat.postEphemeral or a response_url."""
    return {"text": fallback_text(reply), "blocks": blocks(reply)}


def modal(form: Form) -> dict:
    """A form as a modal view (views.open): what a person types there stays out of the DM history."""
    view_blocks: list[dict] = []
    if form.intro:
        view_blocks.extend(_section(piece) for piece in _chunks(escape(form.intro), SECTION_TEXT_MAX))
    for field in form.fields:
        element = {
            "type": "plain_text_input",
            "action_id": field.field_id,
            "multiline": field.multiline,
            "max_length": min(field.max_length, 3000),
        }
        if field.placeholder:
            element["placeholder"] = {"type": "plain_text", "text": shorten(field.placeholder, PLACEHOLDER_MAX)}
        view_blocks.append(
            {
                "type": "input",
                "block_id": field.field_id,
                "optional": not field.required,
                "label": {"type": "plain_text", "text": shorten(field.label, INPUT_LABEL_MAX)},
                "element": element,
            }
        )
    if len(form.private_metadata) > PRIVATE_METADATA_MAX:
        raise ValueError("a form's private metadata is longer than Slack keeps")
    return {
        "type": "modal",
        "callback_id": form.form_id,
        "title": {"type": "plain_text", "text": shorten(form.title, MODAL_TITLE_MAX)},
        "submit": {"type": "plain_text", "text": shorten(form.submit_label, MODAL_BUTTON_MAX)},
        "close": {"type": "plain_text", "text": shorten(texts.FORM_CANCEL, MODAL_BUTTON_MAX)},
        "private_metadata": form.private_metadata,
        "blocks": view_blocks[:100],
    }
