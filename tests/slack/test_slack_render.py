"""The Block Kit renderer: escaping and Block Kit's limits."""

from __future__ import annotations

import json
import re

from bot.slack import render, translate
from handlers.messages import Button, Choice, Fact, Form, FormField, Quote, Reply
from handlers.shown_text import ONE_DOT_LEADER, WORD_JOINER


def all_text(blocks: list[dict]) -> str:
    return json.dumps(blocks)


def test_user_and_policy_text_is_escaped_everywhere():
    reply = Reply(
        text="<!channel> & <@U123>",
        title="<!here>",
        icon="✅",
        quotes=(Quote(section="A & <B>", text="<!everyone>"),),
        facts=(Fact(label="You asked", value="<#C123>"),),
    )
    message = render.message(reply)
    shown = all_text(message["blocks"]) + message["text"]
    for raw in ("<!channel>", "<@U123>", "<!here>", "<!everyone>", "<#C123>", "<B>"):
        assert raw not in shown
    assert "&lt;!channel&gt; &amp; &lt;@U123&gt;" in shown


def test_long_text_is_split_into_sections_within_the_limit():
    reply = Reply(text=("word " * 1000 + "\n") * 3)
    blocks = [block for block in render.blocks(reply) if block["type"] == "section"]
    assert len(blocks) > 1
    assert all(len(block["text"]["text"]) <= render.SECTION_TEXT_MAX for block in blocks)


def test_a_5000_character_note_is_shown_whole_in_sections_and_its_fallback_fits():
    paragraph = "Please don't share photos of the Year 4 trip until every parent has replied to the consent letter. "
    note = "\n".join(paragraph * 5 for _ in range(11))[:5000]
    assert len(note) == 5000
    message = render.message(Reply(text=note, title="A note from Mrs Patel"))
    heading, *sections = message["blocks"]
    assert heading["text"]["text"] == "*A note from Mrs Patel*"
    assert len(sections) >= 2 and all(block["type"] == "section" for block in sections)
    assert all(len(block["text"]["text"]) <= render.SECTION_TEXT_MAX for block in sections)
    # Nothing left out, and every piece ends at a line break or a space, never inside a word.
    assert "\n".join(block["text"]["text"] for block in sections).split() == render.escape(note).split()
    shown, end = render.escape(note), 0
    for block in sections:
        start = shown.find(block["text"]["text"], end)
        end = start + len(block["text"]["text"])
        assert start != -1 and (end == len(shown) or shown[end] in " \n")
    fallback = message["text"]
    assert len(fallback) <= render.FALLBACK_TEXT_MAX and fallback.startswith("A note from Mrs Patel: Please don")
    assert fallback.endswith(render.SHORTENED)


def test_entities_are_never_cut_in_half():
    blocks = [block for block in render.blocks(Reply(text="&" * 2000)) if block["type"] == "section"]
    assert len(blocks) == 4
    for block in blocks:
        assert block["text"]["text"].replace("&amp;", "") == ""


def test_many_quotes_stay_within_block_count_and_size_and_keep_the_buttons():
    reply = Reply(
        text="Reason",
        quotes=tuple(Quote(section=f"Section {n}", text="clause " * 200) for n in range(80)),
        buttons=(Button(label="Ask the headteacher", action_id="a", value="v" * 5000), Button(label="x" * 100, action_id="b")),
    )
    blocks = render.blocks(reply)
    assert len(blocks) <= render.BLOCKS_MAX
    assert sum(len(json.dumps(block)) for block in blocks) < 13_000
    assert blocks[-1]["type"] == "actions"
    first, second = blocks[-1]["elements"]
    assert len(first["value"]) <= render.BUTTON_VALUE_MAX and len(second["text"]["text"]) <= render.BUTTON_TEXT_MAX
    assert blocks[-2]["type"] == "context"  # says that it was shortened


def test_fallback_text_is_short_and_escaped():
    text = render.fallback_text(Reply(text="<!channel> " * 1000, title="T"))
    assert len(text) <= render.FALLBACK_TEXT_MAX and "<!channel>" not in text


def test_a_form_becomes_a_modal_within_limits():
    form = Form(
        form_id="report",
        title="Make an anonymous report to the school",
        submit_label="Send",
        fields=(FormField(field_id="what", label="What happened?", multiline=True, max_length=5000, placeholder="p"),),
        intro="<!channel>",
    )
    view = render.modal(form)
    assert len(view["title"]["text"]) <= render.MODAL_TITLE_MAX
    assert view["blocks"][0]["text"]["text"] == "&lt;!channel&gt;"
    assert view["blocks"][1]["element"]["max_length"] == 3000


def test_a_submitted_modal_becomes_a_neutral_form():
    body = {
        "type": "view_submission",
        "team": {"id": "T0SCHOOL1"},
        "user": {"id": "U0TEACHER1"},
        "trigger_id": "t-9",
        "view": {
            "callback_id": "report",
            "private_metadata": "m",
            "state": {"values": {"what": {"what": {"type": "plain_text_input", "value": "It happened"}}}},
        },
    }
    message = translate.form_submission(body)
    assert message.form.form_id == "report" and message.form.values == {"what": "It happened"}
    assert message.conversation.conversation_id == "U0TEACHER1" and message.is_direct


def test_slack_markup_becomes_plain_text_for_the_advisor():
    text = translate.plain_text(
        "<@U0BOT> is <https://facebook.com/x|this page> ok? Tom &amp; Jerry &lt;3", bot_user_id="U0BOT"
    )
    assert text == "is this page ok? Tom & Jerry <3"


# --- Hostile input (issue 11) ---------------------------------------------------------------------------

BARE = "Re-verify at https://evil.example/login or www.evil.example, mail ht@evil.com, or http://intranet/x"
ENTITY = re.compile(r"&(?!amp;|lt;|gt;)")  # an `&` that starts no whole entity: a cut fell inside one


def read(text: str) -> str:
    """What a person reads: the defused dot looks like a dot, and the word joiner is not seen."""
    return text.replace(ONE_DOT_LEADER, ".").replace(WORD_JOINER, "")


def mrkdwn_texts(blocks: list[dict]) -> list[dict]:
    found = []
    for block in blocks:
        found.extend(item for item in [block.get("text"), *block.get("fields", ()), *block.get("elements", ())]
                     if isinstance(item, dict) and item.get("type") == "mrkdwn")
    return found


def test_bare_addresses_read_as_typed_but_slack_links_none_of_them():
    reply = Reply(text=BARE, title=BARE, quotes=(Quote(section="S", text=BARE),), facts=(Fact(label="Link", value=BARE),),
                  buttons=(Button(label="www.evil.example", action_id="a"),))

    message = render.message(reply)

    shown = json.dumps(message, ensure_ascii=False)
    assert not any(link in shown for link in ("http://", "https://", "www.", "evil.example", "evil.com"))
    assert read(message["blocks"][1]["text"]["text"]) == BARE.replace("&", "&amp;")
    # Slack's own parsing of names and addresses is off in every mrkdwn text: only our markup is read.
    assert all(text["verbatim"] is True for text in mrkdwn_texts(message["blocks"]))


def test_a_long_fact_label_never_cuts_an_entity_or_the_mention_after_it():
    from handlers.messages import ConversationRef

    staff = ConversationRef(platform="slack", conversation_id="D1", user_id="U0STAFF1")
    reply = Reply(text="x", facts=(Fact(label="<" * 3000, value="", person=staff), Fact(label="L", value="&" * 3000)))

    fields = next(block for block in render.blocks(reply) if "fields" in block)["fields"]

    assert all(len(field["text"]) <= render.FIELD_TEXT_MAX for field in fields)
    assert fields[0]["text"].endswith("\n<@U0STAFF1>") and "<" not in fields[0]["text"][: -len("<@U0STAFF1>")]
    assert not any(ENTITY.search(field["text"]) for field in fields)


def test_a_long_title_and_fallback_are_cut_before_an_entity():
    message = render.message(Reply(text="&" * 5000, title="&" * 5000))
    assert not ENTITY.search(message["blocks"][0]["text"]["text"]) and not ENTITY.search(message["text"])
    assert len(message["text"]) <= render.FALLBACK_TEXT_MAX


def test_a_lone_surrogate_anywhere_gives_blocks_the_client_can_send():
    broken = "Ask \ud83d about \udc00 this"
    form = Form(form_id="f", title=broken, submit_label=broken, private_metadata=broken,
                fields=(FormField("q", broken, initial=broken, placeholder=broken, hint=broken),
                        FormField("c", broken, kind="choice", choices=(Choice(broken, broken),), initial=broken)))
    reply = Reply(text=broken, title=broken, quotes=(Quote(section=broken, text=broken),), facts=(Fact(label=broken, value=broken),),
                  buttons=(Button(label=broken, action_id="a", value=broken),), notification_text=broken, form=form)

    for payload in (render.message(reply), render.modal(form, reply=reply), render.form_view(reply), render.home_view([reply])):
        json.dumps(payload, ensure_ascii=False).encode("utf-8")  # raises on a lone surrogate
    assert render.message(Reply(text="\ud83d\ude00"))["text"] == "\U0001f600"  # a split pair is mended


def test_control_characters_blank_texts_and_direction_overrides():
    message = render.message(Reply(text="a\x00b\x1bc\u202ed\u2066e\r\nf", buttons=(Button(label=" ", action_id="a"),)))
    assert message["blocks"][0]["text"]["text"] == "abcde\nf"
    assert message["blocks"][-1]["elements"][0]["text"]["text"] == render.SHORTENED  # Slack refuses a blank one
    assert [block["type"] for block in render.blocks(Reply(text="   \x00"))] == []


def test_what_was_typed_in_a_form_comes_back_unchanged():
    typed = "See https://facebook.com/post/1 <!channel>"
    view = render.modal(Form(form_id="f", title="T", submit_label="S", fields=(FormField("link", "Link", initial=typed),)))
    assert view["blocks"][0]["element"]["initial_value"] == typed
