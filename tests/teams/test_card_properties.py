"""Property-based: whatever a person types, in any field a reply or a form carries, every Adaptive Card
the Teams adapter sends (a card with Action.Submit or Action.Execute buttons, a form, the notification
summary) stays within Teams' size, can be sent as UTF-8, pings nobody and links nowhere: no Markdown that
a renderer reads is left unescaped, and no shown text holds an address a client would link."""

from __future__ import annotations

import json
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.teams import cards
from hostile_text import replies

PROPERTIES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# --- What every card must be -------------------------------------------------------------------------------

LINKABLE = re.compile(r"https?:/|ftp:/|mailto:(?=[^\u2060…])|[^\W_][\w-]*\.[^\W\d_]{2,}(?![^\W_])|[A-Za-z0-9]:/", re.IGNORECASE)
# Read as Markdown once its backslash escapes are taken out: any of these would be markup.
MARKUP = re.compile(r"[\\`*_\[\]()#>~|<]|&#?[0-9A-Za-z]+;|^[ \t]*(?:[-+=]|\d+[.)])", re.MULTILINE)
UNSHOWN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def utf16_size(item) -> int:
    return len(json.dumps(item, ensure_ascii=False).encode("utf-16-le"))


def sendable(card: dict) -> None:
    """UTF-8 can carry it (no lone surrogate), and JSON gives it back whole either way."""
    json.dumps(card, ensure_ascii=False).encode("utf-8")
    assert json.loads(json.dumps(card)) == card


def shown_texts(item, *, markdown: list[str], plain: list[str]) -> None:
    """Every text of the card a person sees, sorted by whether Teams reads it as Markdown. Ids, action data,
    choice values and what a text input holds are not shown text."""
    if isinstance(item, list):
        for value in item:
            shown_texts(value, markdown=markdown, plain=plain)
        return
    if not isinstance(item, dict):
        return
    kind = item.get("type")
    if kind == "TextBlock":
        markdown.append(item["text"])
    elif kind == "Input.Toggle":
        markdown.append(item["title"])
    elif kind == "Input.ChoiceSet":
        (markdown if item["style"] == "expanded" else plain).extend(choice["title"] for choice in item["choices"])
    if kind == "FactSet":
        markdown.extend(text for fact in item["facts"] for text in (fact["title"], fact["value"]))
    for key in ("label", "placeholder", "errorMessage"):
        if key in item:
            plain.append(item[key])
    if kind and kind.startswith("Action."):
        plain.append(item["title"])
    for key in ("body", "items", "actions"):
        shown_texts(item.get(key, []), markdown=markdown, plain=plain)


def assert_harmless_card(card: dict) -> None:
    markdown: list[str] = []
    plain: list[str] = []
    shown_texts(card, markdown=markdown, plain=plain)
    for text in markdown:
        # An escaped character stands apart: it cannot join its neighbours into markup.
        assert not MARKUP.search(re.sub(r"\\.", "\x00", text, flags=re.DOTALL)), text
    for text in markdown + plain:
        assert not LINKABLE.search(text), text
        assert not UNSHOWN.search(text), text
    # A Teams mention needs an entity next to the card; no card carries one, so no `<at>` can ping.
    assert not {"msteams", "entities"} & keys_of(card)


def keys_of(item) -> set[str]:
    if isinstance(item, list):
        return set().union(*(keys_of(value) for value in item))
    if isinstance(item, dict):
        return set(item).union(*(keys_of(value) for value in item.values()))
    return set()


# --- The renderers ----------------------------------------------------------------------------------------


@PROPERTIES
@given(replies(), st.sampled_from(("submit", "execute")))
def test_any_card_fits_teams_pings_nobody_and_links_nowhere(reply, kind):
    card = cards.render_card(reply, kind=kind)

    sendable(card)
    assert utf16_size(card) <= cards.MAX_CARD_BYTES
    assert_harmless_card(card)
    assert all(action["type"] == ("Action.Submit" if kind == "submit" else "Action.Execute")
               for action in card.get("actions", []))


@PROPERTIES
@given(replies(with_form=True), st.sampled_from(("submit", "execute")))
def test_any_form_card_fits_teams_and_keeps_what_was_typed(reply, kind):
    card = cards.render_card(reply, kind=kind)

    sendable(card)
    assert utf16_size(card) <= cards.MAX_CARD_BYTES
    assert_harmless_card(card)
    assert card["actions"][-1]["type"] == "Action.Submit"  # a form is always sent with its inputs
    inputs = {item["id"]: item for item in card["body"] if item.get("type") == "Input.Text"}
    for field in reply.form.fields:
        if field.field_id in inputs and "value" in inputs[field.field_id]:
            # Put back as typed (whole, without controls), never defused; cut only to fit.
            assert cards.typed_text(field.initial).startswith(inputs[field.field_id]["value"])


@PROPERTIES
@given(replies(with_form=True))
def test_any_notification_summary_is_short_one_line_and_harmless(reply):
    for summary in (cards.notification_text(reply), cards.plain_text(reply.text)):
        summary.encode("utf-8")
        assert not LINKABLE.search(summary) and not UNSHOWN.search(summary)
    assert len(cards.notification_text(reply)) <= cards.MAX_SUMMARY_CHARS and "\n" not in cards.notification_text(reply)


def test_a_cut_never_makes_an_address_of_what_was_none():
    from handlers.messages import Reply

    for typed in ("evil.com00" * 300, "HTTP://EVIL.EXAMPLE000" * 77):
        reply = Reply(text=typed, notification_text=typed)
        assert not LINKABLE.search(cards.notification_text(reply))
        assert_harmless_card(cards.render_card(reply, kind="submit"))
