"""Neutral replies in, Adaptive Cards out. Pure functions over plain dicts: no SDK types, so the cards can
be checked in tests and reused for proactive messages.

Teams renders Adaptive Cards 1.5; a card must stay well under Teams' ~28 KB message limit, so every text
taken from a reply is capped.

TextBlock and FactSet texts are Markdown (bold, italic, lists, links): a person's own words (a report, a
question) could carry a link whose label hides where it goes. Every such text is escaped with backslashes
(CommonMark escapes, which Adaptive Card renderers honour); the words policybot itself writes hold no
Markdown, so escaping everything costs nothing. Input labels, placeholders and choice titles are plain text
and are left alone.
"""

from __future__ import annotations

import re
from typing import Literal

from bot.teams import texts
from handlers.messages import Button, Form, FormField, Reply

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = "1.5"
MAX_TEXT_CHARS = 4000
MAX_QUOTE_CHARS = 1500
MAX_EXPANDED_CHOICES = 4  # radio buttons up to this many choices; a drop-down beyond

# Keys our buttons and forms put in an action's data; everything else in a submitted value is a form field.
ACTION_ID_KEY = "action_id"
VALUE_KEY = "value"
FORM_ID_KEY = "form_id"
PRIVATE_METADATA_KEY = "private_metadata"
RESERVED_KEYS = frozenset({ACTION_ID_KEY, VALUE_KEY, FORM_ID_KEY, PRIVATE_METADATA_KEY, "msteams"})

ActionKind = Literal["submit", "execute"]

# Adaptive Card colours for the verdict heading.
_VERDICT_COLOURS = {
    "allowed": "Good",
    "not_allowed": "Attention",
    "ask_headteacher": "Warning",
    "report": "Attention",
    "info": "Accent",
    "out_of_scope": "Default",
}
_BUTTON_STYLES = {"primary": "positive", "danger": "destructive"}


# Markdown's special characters anywhere in a line; `<` also starts autolinks and raw HTML, and `&` an
# entity only when it looks like one (`&amp;`, `&#91;`).
_INLINE_SPECIALS = re.compile(r"([\\`*_\[\]()#>~|<])|&(?=#?[0-9A-Za-z]+;)")
# What makes a line a list item, a heading underline or a rule: `- `, `+ `, `1. `, `1) `, `===`.
_LINE_START = re.compile(r"^([ \t]*)(?:([-+=])|(\d{1,9})([.)]))", re.MULTILINE)


def escape_markdown(text: str) -> str:
    """`text` as Adaptive Card Markdown that shows exactly these characters: no link, emphasis, list or
    heading can come out of it. `**URGENT** [Re-verify](https://x)` shows as typed and links nowhere."""
    escaped = _INLINE_SPECIALS.sub(lambda match: "\\" + (match.group(1) or "&"), text)
    return _LINE_START.sub(
        lambda match: match.group(1) + (f"\\{match.group(2)}" if match.group(2) else f"{match.group(3)}\\{match.group(4)}"),
        escaped,
    )


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(texts.TRUNCATED)] + texts.TRUNCATED


def _text_block(text: str, **extra) -> dict:
    # Capped first, so that the cut can never split an escape in two.
    return {"type": "TextBlock", "text": escape_markdown(_cap(text, MAX_TEXT_CHARS)), "wrap": True, **extra}


def _paragraphs(text: str) -> list[dict]:
    """One TextBlock a line: TextBlock markdown joins single line breaks, which runs lists together."""
    blocks = []
    for number, paragraph in enumerate(part for part in _cap(text, MAX_TEXT_CHARS).split("\n\n") if part.strip()):
        for line_number, line in enumerate(line for line in paragraph.split("\n") if line.strip()):
            spacing = "None" if line_number else ("Small" if number == 0 else "Medium")
            blocks.append(_text_block(line, spacing=spacing))
    return blocks


def button_action(button: Button, *, kind: ActionKind) -> dict:
    """One card action. `Action.Submit` comes back as a message whose `value` is this data;
    `Action.Execute` as an `adaptiveCard/action` invoke whose `value.action.data` is it."""
    data = {ACTION_ID_KEY: button.action_id, VALUE_KEY: button.value}
    action = {"type": "Action.Submit", "title": button.label, "data": data}
    if kind == "execute":
        action = {"type": "Action.Execute", "title": button.label, "verb": button.action_id, "data": data}
    if button.style:
        action["style"] = _BUTTON_STYLES[button.style]
    return action


def _hint(text: str) -> dict:
    return _text_block(text, isSubtle=True, size="Small", spacing="None")


def _field_items(field: FormField) -> list[dict]:
    """The card elements for one field: its input (none for "files": Teams takes no files in a card, so
    the person is told how to send them), then its hint."""
    required = {"isRequired": True, "errorMessage": field.label} if field.required else {}
    if field.kind == "choice":
        items: list[dict] = [
            {
                "type": "Input.ChoiceSet",
                "id": field.field_id,
                "label": field.label,
                "choices": [{"title": choice.label, "value": choice.value} for choice in field.choices],
                "style": "expanded" if len(field.choices) <= MAX_EXPANDED_CHOICES else "compact",
                "isMultiSelect": False,
                **({"value": field.initial} if field.initial else {}),
                **({"placeholder": field.placeholder} if field.placeholder else {}),
                **required,
            }
        ]
    elif field.kind == "toggle":
        items = [
            {
                "type": "Input.Toggle",
                "id": field.field_id,
                "title": field.label,
                "valueOn": "true",
                "valueOff": "false",
                "value": field.initial if field.initial in ("true", "false") else "false",
            }
        ]
    elif field.kind == "files":
        items = [
            _text_block(field.label, weight="Bolder", spacing="Medium"),
            _hint(texts.FILES_IN_CHAT),
        ]
    else:
        items = [
            {
                "type": "Input.Text",
                "id": field.field_id,
                "label": field.label,
                "isMultiline": field.multiline,
                "isRequired": field.required,
                "maxLength": field.max_length,
                "placeholder": field.placeholder,
                **({"value": field.initial} if field.initial else {}),
                **({"errorMessage": field.label} if field.required else {}),
            }
        ]
    if field.hint:
        items.append(_hint(field.hint))
    return items


def _error_blocks(errors: tuple[tuple[str, str], ...]) -> list[dict]:
    return [_text_block(message, color="Attention", weight="Bolder") for _field_id, message in errors if message]


def _form_body(form: Form, *, errors: tuple[tuple[str, str], ...] = ()) -> list[dict]:
    body: list[dict] = [_text_block(form.title, weight="Bolder", size="Medium")]
    # What was wrong with the last submission, where it is seen first; the fields below hold what was typed.
    body.extend(_error_blocks(errors))
    if form.intro:
        body.append(_text_block(form.intro))
    for field in form.fields:
        body.extend(_field_items(field))
    body.append(_text_block(texts.FORM_CANCEL_HINT.format(submit=form.submit_label), isSubtle=True, size="Small"))
    return body


def _form_action(form: Form) -> dict:
    # Always Action.Submit: it validates required inputs on the client and sends them with the data.
    return {
        "type": "Action.Submit",
        "title": form.submit_label,
        "style": "positive",
        "data": {FORM_ID_KEY: form.form_id, PRIVATE_METADATA_KEY: form.private_metadata},
    }


def render_card(reply: Reply, *, kind: ActionKind = "submit") -> dict:
    """The Adaptive Card for one reply: heading, text, quoted clauses, facts, buttons and any form."""
    body: list[dict] = []
    heading = " ".join(part for part in (reply.icon, reply.title) if part)
    if heading:
        colour = _VERDICT_COLOURS.get(reply.verdict or "", "Default")
        body.append(_text_block(heading, weight="Bolder", size="Medium", color=colour))
    body.extend(_paragraphs(reply.text))
    if reply.quotes:
        quotes: list[dict] = [_text_block(texts.QUOTES_HEADING, weight="Bolder", size="Small")]
        for quote in reply.quotes:
            quotes.append(
                _text_block(texts.QUOTE_SECTION.format(section=quote.section), isSubtle=True, size="Small", spacing="Medium")
            )
            quotes.append(
                _text_block(texts.QUOTE_TEXT.format(text=_cap(quote.text, MAX_QUOTE_CHARS)), spacing="None")
            )
        body.append({"type": "Container", "style": "emphasis", "items": quotes, "spacing": "Medium"})
    if reply.facts:
        body.append(
            {
                "type": "FactSet",
                "facts": [
                    {"title": escape_markdown(fact.label), "value": escape_markdown(_cap(fact.value, MAX_QUOTE_CHARS))}
                    for fact in reply.facts
                ],
            }
        )
    actions = [button_action(button, kind=kind) for button in reply.buttons]
    if reply.form is not None:
        body.extend(_form_body(reply.form, errors=reply.form_errors))
        actions.append(_form_action(reply.form))
    elif reply.form_errors:
        body[:0] = _error_blocks(reply.form_errors)
    card: dict = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": CARD_VERSION,
        "body": body,
    }
    if actions:
        card["actions"] = actions
    return card


def card_attachment(card: dict) -> dict:
    return {"contentType": CARD_CONTENT_TYPE, "content": card}


def notification_text(reply: Reply) -> str:
    """What Teams shows in the activity feed and notifications (the activity's `summary`): the reply's own
    notification text when it has one (it must say less than the message), otherwise its heading."""
    if reply.notification_text:
        return _cap(reply.notification_text, 200)
    heading = " ".join(part for part in (reply.icon, reply.title) if part)
    return _cap(heading or reply.text or (reply.form.title if reply.form else ""), 200)
