"""Property-based: whatever a person types, in any field a reply or a form carries, every Block Kit
renderer gives payloads that slack_sdk's models accept, within Slack's limits, that ping nobody and link
nowhere, and that can be sent as UTF-8.

slack_sdk's `validate_json()` checks only the object it is called on (lengths, counts, required parts), not
the objects inside it: `validated` walks them all."""

from __future__ import annotations

import json
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.models.basic_objects import JsonObject
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.slack import render
from handlers.messages import Reply
from hostile_text import replies

PROPERTIES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FEW = settings(PROPERTIES, max_examples=25)  # a home tab of several replies is slow to draw

# --- What every payload must be ------------------------------------------------------------------------------

LINKABLE = re.compile(r"https?:/|ftp:/|mailto:(?=[^\u2060…])|[^\W_][\w-]*\.[^\W\d_]{2,}(?![^\W_])|[A-Za-z0-9]:/", re.IGNORECASE)


def validated(model: object) -> None:
    """validate_json() on this slack_sdk model and on every model inside it."""
    if isinstance(model, JsonObject):
        model.validate_json()
        for value in vars(model).values():
            validated(value)
    elif isinstance(model, (list, tuple)):
        for value in model:
            validated(value)


def sendable(payload: dict) -> None:
    """UTF-8 can carry it (no lone surrogate), and JSON gives it back whole either way."""
    json.dumps(payload, ensure_ascii=False).encode("utf-8")
    assert json.loads(json.dumps(payload)) == payload


def mentions_we_make(reply: Reply) -> set[str]:
    """A fact's person in this workspace is shown as a mention: a user id cannot carry anything typed."""
    return {
        f"<@{fact.person.user_id}>" for fact in reply.facts
        if fact.person is not None and fact.person.platform == "slack" and render.SLACK_USER_ID.match(fact.person.user_id)
    }


def texts_of(item, *, kind: str) -> list[str]:
    """Every text object's text of this type (mrkdwn or plain_text), anywhere in the payload."""
    if isinstance(item, list):
        return [text for value in item for text in texts_of(value, kind=kind)]
    if not isinstance(item, dict):
        return []
    found = [item["text"]] if item.get("type") == kind and isinstance(item.get("text"), str) else []
    return found + [text for value in item.values() for text in texts_of(value, kind=kind)]


def assert_harmless(payload: dict, reply: Reply) -> None:
    """Pings nobody, links nowhere: no `<` in mrkdwn but our own mentions (so no `<!channel>`, `<@U…>`,
    `<#C…>`, `<http…|label>`), every `&` a whole entity, and nothing Slack could link in any shown text."""
    ours = mentions_we_make(reply)
    mrkdwn = texts_of(payload.get("blocks", []), kind="mrkdwn") + ([payload["text"]] if "text" in payload else [])
    for text in mrkdwn:
        for mention in ours:
            text = text.replace(mention, "")
        assert "<" not in text and ">" not in text, text
        assert not re.search(r"&(?!amp;|lt;|gt;)", text), text
    for text in mrkdwn + texts_of(payload.get("blocks", []), kind="plain_text"):
        assert not LINKABLE.search(text), text
        assert not re.search("[\x00-\x08\x0b-\x1f\u202a-\u202e\u2066-\u2069]", text)
    for item in texts_of(payload.get("blocks", []), kind="mrkdwn"):
        assert item.strip()


def mrkdwn_objects(item) -> list[dict]:
    if isinstance(item, list):
        return [found for value in item for found in mrkdwn_objects(value)]
    if not isinstance(item, dict):
        return []
    return ([item] if item.get("type") == "mrkdwn" else []) + [found for value in item.values() for found in mrkdwn_objects(value)]


def assert_blocks(blocks: list[dict], *, most: int) -> None:
    assert 0 < len(blocks) <= most
    for block in blocks:
        model = Block.parse(block)
        assert type(model) is not Block, block["type"]  # a type slack_sdk knows
        validated(model)
    assert all(item.get("verbatim") is True for item in mrkdwn_objects(blocks))


# --- The renderers ----------------------------------------------------------------------------------------


@PROPERTIES
@given(replies())
def test_any_message_is_valid_block_kit_that_pings_nobody_and_links_nowhere(reply):
    message = render.message(reply)

    sendable(message)
    blocks = message["blocks"]
    if blocks:
        assert_blocks(blocks, most=render.BLOCKS_MAX)
    assert len(message["text"]) <= render.FALLBACK_TEXT_MAX
    # Slack refuses messages of about 13 000 characters of blocks (msg_blocks_too_long).
    assert sum(len(text) for kind in ("mrkdwn", "plain_text") for text in texts_of(blocks, kind=kind)) <= 13_000
    assert_harmless(message, reply)


@FEW
@given(replies(with_form=True))
def test_any_form_is_a_valid_modal_that_pings_nobody_and_links_nowhere(reply):
    for view in (render.modal(reply.form, reply=reply), render.modal(reply.form), render.form_view(reply)):
        sendable(view)
        validated(View(**view))
        assert_blocks(view["blocks"], most=render.MODAL_BLOCKS_MAX)
        assert_harmless(view, reply)
    # What was typed goes back into the form as it was typed (controls and lone surrogates aside), not defused.
    modal = render.modal(reply.form)
    for field, block in zip(reply.form.fields, modal["blocks"][-len(reply.form.fields):]):
        if field.kind == "text" and render.typed_text(field.initial):
            assert block["element"]["initial_value"] == render.typed_text(field.initial)[: block["element"]["max_length"]]


@PROPERTIES
@given(replies())
def test_any_answer_shown_in_a_modal_is_a_valid_view(reply):
    view = render.form_view(reply)
    sendable(view)
    if view["blocks"]:
        validated(View(**view))
        assert_blocks(view["blocks"], most=render.MODAL_BLOCKS_MAX)
    assert_harmless(view, reply)


@FEW
@given(st.lists(replies(), min_size=1, max_size=3))
def test_any_home_tab_is_a_valid_view(shown_replies):
    view = render.home_view(shown_replies)
    sendable(view)
    if view["blocks"]:
        validated(View(**view))
        assert_blocks(view["blocks"], most=render.HOME_BLOCKS_MAX)
    assert_harmless(view, Reply(text="", facts=sum((reply.facts for reply in shown_replies), ())))


def test_a_cut_never_makes_an_address_of_what_was_none():
    # "evil.com00" links nowhere; cut to "evil.com…" it would, had the cut not been defused again.
    for typed in ("evil.com00" * 300, "HTTP://EVIL.EXAMPLE000" * 77):
        for limit in range(20, 60):
            assert not LINKABLE.search(render.shorten(render.escape(typed), limit))
