"""Neutral replies in, Adaptive Cards out. Pure functions over plain dicts: no SDK types, so the cards can
be checked in tests and reused for proactive messages.

Teams renders Adaptive Cards 1.5. A message must stay under Teams' size limit (413 MessageSizeTooBig beyond
it; Microsoft has documented 28 KB, 40 KB and lately 100 KB, counted in UTF-16): every text taken from a reply
is capped, and the reply's own text takes whatever room the rest of the card leaves, up to MAX_CARD_BYTES, so
a long note (a headteacher's 5 000 characters) is shown whole and a longer one is cut with a note saying so.

TextBlock and FactSet texts, a toggle's title and the labels of radio buttons are Markdown (bold, italic,
lists, links): a person's own words (a report, a question) could carry a link whose label hides where it
goes, shown to the headteacher as if the bot sent it. Every such text is escaped with backslashes (CommonMark
escapes, which Adaptive Card renderers honour); the words policybot itself writes hold no Markdown, so
escaping everything costs nothing. Input labels, placeholders, drop-down choices, button titles and the
notification summary are plain text: no backslashes there.

Teams clients also turn bare addresses into links, in Markdown and plain text alike, after the Markdown is
read (`https://evil.example`, `www.evil.example`, `evil.com`): no escape stops that. So every shown text is
"defused" (`handlers.shown_text`): a dot in a host-like word becomes U+2024 ONE DOT LEADER, which looks the
same but is no dot to a link detector, and a word joiner follows the colon of `scheme://`. A person reads
what was typed and nothing is clickable. What a person typed, put back in a form to send again, is
never defused (only control characters are dropped): what is submitted is what was typed.

Every rendered string is valid Unicode: a lone surrogate (which JSON allows but UTF-8 cannot carry, so the
adapter could not send the card) becomes U+FFFD, whatever the core did before.
"""

from __future__ import annotations

import json
import re
from typing import Literal

from bot.teams import texts
from handlers import texts as conversation_texts
from handlers.messages import PERSON_PREFIX, Button, Choice, Fact, Form, FormField, Reply
from handlers.shown_text import shown_prefix, shown_text, typed_text, whole

PLATFORM = "teams"

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = "1.5"
MAX_TEXT_CHARS = 4000  # one TextBlock's; a longer line of a reply's text becomes several
MAX_QUOTE_CHARS = 1500
MAX_HEADING_CHARS = 300
# The card's JSON in UTF-16, as Teams counts: the oldest documented limit (28 KB) less room for the activity.
MAX_CARD_BYTES = 26_000
_SEPARATOR_BYTES = 4  # ", " between two items of a list, in UTF-16
MAX_SUMMARY_CHARS = 200
# Plain texts of a card a flow writes (a label, a button, a choice): long enough for any of ours, short enough
# that a card of them all stays within MAX_CARD_BYTES.
MAX_LABEL_CHARS = 200
MAX_BUTTON_CHARS = 80
MAX_CHOICE_CHARS = 100
MAX_PLACEHOLDER_CHARS = 150
# Adaptive Cards want every choice to have a value (the JS renderer reports an empty one as an error, and
# reads the first option of a drop-down as "nothing chosen"): a choice whose value is "" goes out as this,
# and translate.py turns it back into "".
EMPTY_CHOICE_VALUE = "policybot.empty"
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
    """`text` as Adaptive Card Markdown that shows these characters (defused, see `shown_text`): no link,
    emphasis, list or heading can come out of it. `**URGENT** [Re-verify](https://x)` shows as typed and
    links nowhere."""
    escaped = _INLINE_SPECIALS.sub(lambda match: "\\" + (match.group(1) or "&"), shown_text(text))
    return _LINE_START.sub(
        lambda match: match.group(1) + (f"\\{match.group(2)}" if match.group(2) else f"{match.group(3)}\\{match.group(4)}"),
        escaped,
    )


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else shown_prefix(text, limit - len(texts.TRUNCATED)) + texts.TRUNCATED


def _plain(text: str, limit: int) -> str:
    """A plain text of the card (no Markdown is read there), defused and capped."""
    return _cap(shown_text(text), limit)


def _text_block(text: str, **extra) -> dict:
    # Capped first, so that the cut can never split an escape in two.
    return {"type": "TextBlock", "text": escape_markdown(_cap(text, MAX_TEXT_CHARS)), "wrap": True, **extra}


def _size(item: dict | list) -> int:
    """How many bytes Teams counts for this JSON: its text in UTF-16."""
    # surrogatepass: a text not yet made whole must be measurable, not an error (it has the same length).
    return len(json.dumps(item, ensure_ascii=False).encode("utf-16-le", "surrogatepass"))


def _pieces(line: str) -> list[str]:
    """`line` in pieces of at most MAX_TEXT_CHARS, cut after a sentence when one ends in the second half of
    the piece, else at a space, else anywhere."""
    pieces = []
    while len(line) > MAX_TEXT_CHARS:
        window = line[:MAX_TEXT_CHARS]
        cut = max(window.rfind(end) for end in (". ", "? ", "! "))
        if cut < MAX_TEXT_CHARS // 2:
            cut = window.rfind(" ")
        cut = cut + 1 if cut >= MAX_TEXT_CHARS // 2 else MAX_TEXT_CHARS
        pieces.append(line[:cut].rstrip())
        line = line[cut:].lstrip()
    return [*pieces, line]


def _lines(text: str):
    """(spacing, line) for each TextBlock of a text: one a line, as TextBlock markdown joins single line
    breaks and so runs lists together; a blank line between paragraphs shows as wider spacing."""
    for number, paragraph in enumerate(part for part in text.split("\n\n") if part.strip()):
        spacing = "Small" if number == 0 else "Medium"
        for line in paragraph.split("\n"):
            if line.strip():
                for piece in _pieces(line):
                    yield spacing, piece
                    spacing = "None"


def _cut_to_fit(line: str, *, spacing: str, room: int) -> list[dict]:
    """The longest start of `line` that fits in `room` bytes, cut at a word where it can be, with "…"."""
    fits, longest = 0, len(line)
    while fits < longest:  # the longest start that fits, by halving
        middle = (fits + longest + 1) // 2
        if _size(_text_block(line[:middle] + texts.TRUNCATED, spacing=spacing)) <= room:
            fits = middle
        else:
            longest = middle - 1
    start = line[:fits]
    if fits < len(line) and start.rfind(" ") > fits // 2:
        start = start[: start.rfind(" ")]
    return [_text_block(start.rstrip() + texts.TRUNCATED, spacing=spacing)] if start.strip() else []


def _shortened_note() -> dict:
    return _text_block(conversation_texts.SHORTENED_NOTE, isSubtle=True, size="Small")


def _paragraphs(text: str, *, budget: int) -> list[dict]:
    """The TextBlocks of a reply's text, as many as fit in `budget` bytes; when the text is longer, it is
    cut at the end of what fits, and a last line says it was shortened."""
    kept: list[tuple[str, str, dict]] = []
    room = budget
    for spacing, line in _lines(text):
        block = _text_block(line, spacing=spacing)
        size = _size(block) + _SEPARATOR_BYTES
        if size > room:
            break
        kept.append((spacing, line, block))
        room -= size
    else:
        return [block for _spacing, _line, block in kept]
    note = _shortened_note()
    room -= _size(note) + 2 * _SEPARATOR_BYTES  # the note, and the cut line before it
    while room < 0 and kept:  # the note needs the room of the last lines
        spacing, line, block = kept.pop()
        room += _size(block) + _SEPARATOR_BYTES
    return [*(block for _spacing, _line, block in kept), *_cut_to_fit(line, spacing=spacing, room=room), note]


def button_action(button: Button, *, kind: ActionKind) -> dict:
    """One card action. `Action.Submit` comes back as a message whose `value` is this data;
    `Action.Execute` as an `adaptiveCard/action` invoke whose `value.action.data` is it."""
    data = {ACTION_ID_KEY: whole(button.action_id), VALUE_KEY: whole(button.value)}
    title = _plain(button.label, MAX_BUTTON_CHARS)
    action = {"type": "Action.Submit", "title": title, "data": data}
    if kind == "execute":
        action = {"type": "Action.Execute", "title": title, "verb": data[ACTION_ID_KEY], "data": data}
    if button.style:
        action["style"] = _BUTTON_STYLES[button.style]
    return action


def _hint(text: str) -> dict:
    return _text_block(text, isSubtle=True, size="Small", spacing="None")


def _card_value(value: str) -> str:
    return whole(value) or EMPTY_CHOICE_VALUE


def _choice_title(label: str, *, style: str) -> str:
    # Radio buttons' labels are read as Markdown (Adaptive Cards' useMarkdownInRadioButtonAndCheckbox); a
    # drop-down's options are plain text.
    title = _cap(label, MAX_CHOICE_CHARS)
    return escape_markdown(title) if style == "expanded" else shown_text(title)


def _choice_set(field: FormField, choices: tuple[Choice, ...], *, style: str) -> dict:
    item = {
        "type": "Input.ChoiceSet",
        "id": field.field_id,
        "label": _plain(field.label, MAX_LABEL_CHARS),
        "choices": [{"title": _choice_title(choice.label, style=style), "value": _card_value(choice.value)} for choice in choices],
        "style": style,
        "isMultiSelect": False,
    }
    if any(choice.value == field.initial for choice in choices):
        item["value"] = _card_value(field.initial)
    if field.placeholder:
        item["placeholder"] = _plain(field.placeholder, MAX_PLACEHOLDER_CHARS)
    if field.required:
        item.update(isRequired=True, errorMessage=texts.REQUIRED_CHOICE)
    return item


def _text_input(field: FormField, *, initial: str) -> dict:
    item = {
        "type": "Input.Text",
        "id": field.field_id,
        "label": _plain(field.label, MAX_LABEL_CHARS),
        "isMultiline": field.multiline,
        "isRequired": field.required,
        "maxLength": field.max_length,
        "placeholder": _plain(field.placeholder, MAX_PLACEHOLDER_CHARS),
    }
    if initial:
        # What the person typed, sent back as it is when they submit.
        item["value"] = typed_text(initial)[: field.max_length]
    if field.required:
        item["errorMessage"] = texts.REQUIRED_TEXT
    return item


def _person_input(field: FormField) -> dict:
    """Teams cards have a people picker, but it answers with Entra object ids, not the Teams user ids the
    bot writes to (and Microsoft's emulator has none): a drop-down of the people the bot knows (values
    `person:<Teams user id>`, made so by the flow), with "nobody" when the field is optional; without
    choices, a typed name."""
    if not field.choices:
        # A `person:` id with no choice to show it by means nothing to a reader: start empty instead.
        return _text_input(field, initial="" if field.initial.startswith(PERSON_PREFIX) else field.initial)
    choices = field.choices
    if not field.required and all(choice.value for choice in choices):
        choices = (Choice(value="", label=texts.PERSON_NOBODY), *choices)
    return _choice_set(field, choices, style="compact")


def _field_items(field: FormField) -> list[dict]:
    """The card elements for one field: its input (none for "files": Teams takes no files in a card, so
    the person is told how to send them), then its hint."""
    if field.kind == "choice":
        style = "expanded" if len(field.choices) <= MAX_EXPANDED_CHOICES else "compact"
        items: list[dict] = [_choice_set(field, field.choices, style=style)]
    elif field.kind == "person":
        items = [_person_input(field)]
    elif field.kind == "toggle":
        items = [
            {
                "type": "Input.Toggle",
                "id": field.field_id,
                # Read as Markdown, like a radio button's label.
                "title": escape_markdown(_cap(field.label, MAX_LABEL_CHARS)),
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
        items = [_text_input(field, initial=field.initial)]
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
        "title": _plain(form.submit_label, MAX_BUTTON_CHARS),
        "style": "positive",
        "data": {FORM_ID_KEY: whole(form.form_id), PRIVATE_METADATA_KEY: whole(form.private_metadata)},
    }


def fact_value(fact: Fact) -> str:
    """A person by the name they had when they wrote, with their platform when it is not Teams; without a
    name, their user id and platform. Plain text: the card escapes it, so a name like `*Bob* [x](http://evil)`
    shows as typed and links nowhere."""
    person = fact.person
    if person is None:
        return fact.value
    name = " ".join(fact.value.split()) or " ".join(person.user_name.split())
    if name and person.platform == PLATFORM:
        return name
    return conversation_texts.ASKED_BY_ELSEWHERE.format(who=name or person.user_id, platform=person.platform.title())


def _quote_items(reply: Reply) -> list[list[dict]]:
    return [
        [
            _text_block(texts.QUOTE_SECTION.format(section=_cap(quote.section, MAX_LABEL_CHARS)),
                        isSubtle=True, size="Small", spacing="Medium"),
            _text_block(texts.QUOTE_TEXT.format(text=_cap(quote.text, MAX_QUOTE_CHARS)), spacing="None"),
        ]
        for quote in reply.quotes
    ]


def _fact_items(reply: Reply) -> list[dict]:
    return [
        {"title": escape_markdown(_cap(fact.label, MAX_LABEL_CHARS)), "value": escape_markdown(_cap(fact_value(fact), MAX_QUOTE_CHARS))}
        for fact in reply.facts
    ]


def _quotes_and_facts(quotes: list[list[dict]], facts: list[dict]) -> list[dict]:
    items: list[dict] = []
    if quotes:
        heading = _text_block(texts.QUOTES_HEADING, weight="Bolder", size="Small")
        items.append({"type": "Container", "style": "emphasis", "items": [heading, *sum(quotes, [])], "spacing": "Medium"})
    if facts:
        items.append({"type": "FactSet", "facts": facts})
    return items


def _shorten_typed_values(card: dict, *, room: int) -> None:
    """The last resort of a form too big for Teams even without quotes and facts (what was typed, in many
    long fields, put back after an error): the longest values are cut until the card fits, as a card over
    the limit would not be shown at all."""
    typed = [item for item in card["body"] if item.get("type") == "Input.Text" and item.get("value")]
    while typed and (over := _size(card) - room) > 0:
        longest = max(typed, key=lambda item: _size([item["value"]]))
        # Each character is at least 2 bytes in UTF-16: cutting over // 2 of them (and 1) frees enough, or
        # the next round cuts again.
        longest["value"] = longest["value"][: max(0, len(longest["value"]) - over // 2 - 1)]
        if not longest["value"]:
            del longest["value"]
            typed.remove(longest)


def render_card(reply: Reply, *, kind: ActionKind = "submit") -> dict:
    """The Adaptive Card for one reply: heading, text, quoted clauses, facts, buttons and any form. Over
    Teams' size, the quoted clauses and then the facts are left out from the end (with a line saying so),
    and the reply's text has the room that leaves."""
    head: list[dict] = []
    heading = " ".join(part for part in (reply.icon, reply.title) if part)
    if heading:
        colour = _VERDICT_COLOURS.get(reply.verdict or "", "Default")
        head.append(_text_block(_cap(heading, MAX_HEADING_CHARS), weight="Bolder", size="Medium", color=colour))
    form: list[dict] = []
    actions = [button_action(button, kind=kind) for button in reply.buttons]
    if reply.form is not None:
        form = _form_body(reply.form, errors=reply.form_errors)
        actions.append(_form_action(reply.form))
    elif reply.form_errors:
        head[:0] = _error_blocks(reply.form_errors)
    card: dict = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": CARD_VERSION,
        "body": [],
    }
    if actions:
        card["actions"] = actions
    quotes, facts = _quote_items(reply), _fact_items(reply)
    note = _shortened_note()
    # Room for the note the reply's text may need.
    room = MAX_CARD_BYTES - _size(note) - _SEPARATOR_BYTES
    left_out: list[dict] = []
    card["body"] = [*head, *_quotes_and_facts(quotes, facts), *form]
    while (quotes or facts) and _size(card) > room:
        (quotes or facts).pop()
        left_out = [note]
        card["body"] = [*head, *_quotes_and_facts(quotes, facts), *left_out, *form]
    _shorten_typed_values(card, room=room)
    # The reply's text has the room the rest of the card leaves.
    text = _paragraphs(reply.text, budget=MAX_CARD_BYTES - _size(card))
    card["body"] = [*head, *text, *_quotes_and_facts(quotes, facts), *left_out, *form]
    return card


def card_attachment(card: dict) -> dict:
    return {"contentType": CARD_CONTENT_TYPE, "content": card}


def plain_text(text: str) -> str:
    """A reply's text as a plain (not card) message: Teams links bare addresses there too."""
    return shown_text(text)


def fits_as_plain_text(text: str) -> bool:
    """Whether a plain message of this text stays within the size a card may have (else it goes as a card,
    which is cut to fit and says so)."""
    return _size([text]) <= MAX_CARD_BYTES


def notification_text(reply: Reply) -> str:
    """What Teams shows in the activity feed and notifications (the activity's `summary`): the reply's own
    notification text when it has one (it must say less than the message), otherwise its heading, else the
    start of its text, on one line and cut at a word."""
    heading = " ".join(part for part in (reply.icon, reply.title) if part)
    summary = " ".join(plain_text(reply.notification_text or heading or reply.text or (reply.form.title if reply.form else "")).split())
    if len(summary) <= MAX_SUMMARY_CHARS:
        return summary
    room = MAX_SUMMARY_CHARS - len(texts.TRUNCATED)
    cut = summary.rfind(" ", room // 2, room + 1)  # the last space that leaves room for "…"
    return shown_prefix(summary, cut if cut > 0 else room) + texts.TRUNCATED
