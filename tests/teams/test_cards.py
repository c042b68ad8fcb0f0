"""The Adaptive Card renderer on its own: what each part of a neutral reply becomes."""

from __future__ import annotations

import json

from bot.teams.cards import (
    MAX_CARD_BYTES,
    MAX_TEXT_CHARS,
    escape_markdown,
    notification_text,
    render_card,
)
from handlers import texts as conversation_texts
from handlers.messages import Button, Fact, Quote, Reply
from handlers.shown_text import ONE_DOT_LEADER, WORD_JOINER

from .test_flows import shown


def read(text: str) -> str:
    """What a person reads: the defused dot looks like a dot, and the word joiner is not seen."""
    return text.replace(ONE_DOT_LEADER, ".").replace(WORD_JOINER, "")


def card_size(card: dict) -> int:
    """As Teams counts a message: its JSON in UTF-16."""
    return len(json.dumps(card, ensure_ascii=False).encode("utf-16-le"))


def test_each_line_is_its_own_text_block_so_lists_stay_lists():
    card = render_card(Reply(text="Why.\n\nWhat to do next:\n• one\n• two", title="No", icon="⛔", verdict="not_allowed"))

    texts = [(block["text"], block.get("spacing")) for block in card["body"][1:]]
    assert texts == [("Why.", "Small"), ("What to do next:", "Medium"), ("• one", "None"), ("• two", "None")]


def test_quotes_facts_and_buttons():
    reply = Reply(
        text="Reason",
        title="Check first",
        verdict="ask_headteacher",
        quotes=(Quote(section="Prohibited use", text="not breach confidentiality"),),
        facts=(Fact(label="You asked", value="Can I?"),),
        buttons=(Button(label="Ask", action_id="policybot.ask_headteacher", value="{}", style="primary"),),
    )

    card = render_card(reply)

    assert card["body"][0]["color"] == "Warning"
    container = next(item for item in card["body"] if item["type"] == "Container")
    assert [block["text"] for block in container["items"][1:]] == ["Prohibited use", "“not breach confidentiality”"]
    assert next(item for item in card["body"] if item["type"] == "FactSet")["facts"] == [{"title": "You asked", "value": "Can I?"}]
    assert card["actions"] == [
        {"type": "Action.Submit", "title": "Ask", "data": {"action_id": "policybot.ask_headteacher", "value": "{}"}, "style": "positive"}
    ]


def test_a_huge_text_is_cut_so_the_card_stays_under_teams_limit_and_says_so():
    card = render_card(Reply(text="x" * 50_000))

    assert card_size(card) <= MAX_CARD_BYTES
    assert all(len(block["text"]) <= MAX_TEXT_CHARS for block in card["body"])
    *text, note = card["body"]
    assert text[-1]["text"].endswith("…") and note["text"] == escape_markdown(conversation_texts.SHORTENED_NOTE)
    assert "actions" not in card


def test_many_short_lines_are_cut_by_size_too():
    card = render_card(Reply(text="- a\n" * 20_000, title="Lines", buttons=(Button(label="OK", action_id="x"),)))

    assert card_size(card) <= MAX_CARD_BYTES
    assert card["body"][0]["text"] == "Lines" and card["actions"][0]["title"] == "OK"
    assert card["body"][-1]["text"] == escape_markdown(conversation_texts.SHORTENED_NOTE)


# A headteacher's note of 5 000 characters: paragraphs, a list, and one paragraph longer than a TextBlock.
SENTENCE = "Please keep photos of pupils off personal accounts, and ask me first if in doubt. "
NOTE = (
    "Thank you for asking.\n\n"
    + SENTENCE * 55
    + "\n\nWhat to do next:\n• take the post down\n• tell the parents\n\n"
    + SENTENCE * 6
)[:5000]


def test_a_5000_character_note_is_shown_whole_in_text_blocks_within_the_limits():
    assert len(NOTE) == 5000 and max(len(line) for line in NOTE.split("\n")) > MAX_TEXT_CHARS
    reply = Reply(text=NOTE, title="The headteacher answered", facts=(Fact(label="You asked", value="Can I?" * 200),),
                  buttons=(Button(label="Thanks", action_id="policybot.thanks"),))

    card = render_card(reply)

    blocks = card["body"][1:-1]  # between the heading and the facts
    assert all(block["type"] == "TextBlock" and len(block["text"]) <= MAX_TEXT_CHARS for block in blocks)
    assert all(escape_markdown(conversation_texts.SHORTENED_NOTE) != block["text"] for block in blocks)
    # Every word, in order: only the line breaks between blocks differ.
    assert " ".join(shown(block["text"]) for block in blocks).split() == NOTE.split()
    # The paragraph longer than a TextBlock is two, cut after a sentence; the list stays a list.
    assert [block.get("spacing") for block in blocks[:3]] == ["Small", "Medium", "None"]
    assert blocks[1]["text"].endswith("doubt.") and blocks[2]["text"].startswith("Please")
    assert [shown(block["text"]) for block in blocks[4:6]] == ["• take the post down", "• tell the parents"]
    assert card_size(card) < 28_000
    assert card["actions"][0]["title"] == "Thanks"


def test_the_summary_of_a_long_note_is_short_and_on_one_line():
    from bot.teams.cards import MAX_SUMMARY_CHARS

    summary = notification_text(Reply(text=NOTE))

    assert len(summary) <= MAX_SUMMARY_CHARS and "\n" not in summary and summary.endswith("…")
    one_line = " ".join(NOTE.split())
    assert one_line.startswith(summary[:-1]) and one_line[len(summary) - 1] == " "  # cut at a word
    assert notification_text(Reply(text=NOTE, title="The headteacher answered")) == "The headteacher answered"


def test_a_plain_reply_stays_a_plain_message_unless_it_is_too_long_for_one():
    from bot.teams.agent import PolicyBotAgent

    agent = PolicyBotAgent(core=None)
    plain, huge = agent.to_activity(Reply(text=NOTE)), agent.to_activity(Reply(text=NOTE * 10))

    assert (plain.text, plain.attachments) == (NOTE, None)
    assert huge.text is None and card_size(huge.attachments[0].content) <= MAX_CARD_BYTES
    assert len(huge.summary) <= 200


# --- Forms: every field kind --------------------------------------------------------------------------

import re  # noqa: E402

from bot.teams import texts as teams_texts  # noqa: E402
from bot.teams.cards import EMPTY_CHOICE_VALUE  # noqa: E402
from handlers.messages import PERSON_PREFIX, Choice, Form, FormField  # noqa: E402

from .test_flows import card_texts  # noqa: E402

KINDS = tuple(Choice(f"kind_{n}", f"Kind {n}") for n in range(7))


def form_card(*fields: FormField, errors=()) -> dict:
    form = Form(form_id="policybot.report_form", title="Report", submit_label="Send", fields=fields, intro="Private.")
    return render_card(Reply(text="", form=form, form_errors=errors))


def element(card: dict, element_id: str) -> dict:
    return next(item for item in card["body"] if item.get("id") == element_id)


def test_a_text_field_starts_with_its_initial_value_and_shows_its_hint():
    card = form_card(FormField("what", "What happened?", multiline=True, initial="A parent's post", hint="In your own words"))

    field = element(card, "what")
    assert (field["type"], field["value"], field["isMultiline"], field["isRequired"]) == ("Input.Text", "A parent's post", True, True)
    hint = card["body"][card["body"].index(field) + 1]
    assert (hint["type"], hint["text"], hint["isSubtle"], hint["size"]) == ("TextBlock", "In your own words", True, "Small")


def test_an_empty_text_field_has_no_value():
    assert "value" not in element(form_card(FormField("where", "Where?", required=False)), "where")


def test_a_choice_field_is_radio_buttons_up_to_four_choices_and_a_drop_down_beyond():
    few = element(form_card(FormField("who", "Who?", kind="choice", choices=KINDS[:4], initial="kind_2")), "who")
    many = element(form_card(FormField("kind", "What is it about?", kind="choice", choices=KINDS, required=False)), "kind")

    assert few["type"] == many["type"] == "Input.ChoiceSet"
    assert few["choices"] == [{"title": f"Kind {n}", "value": f"kind_{n}"} for n in range(4)]
    assert (few["style"], few["value"], few["isRequired"], few["isMultiSelect"]) == ("expanded", "kind_2", True, False)
    assert (many["style"], "value" in many, "isRequired" in many) == ("compact", False, False)


def test_a_choice_whose_value_is_empty_goes_out_with_a_value_and_starts_chosen():
    clause = element(form_card(FormField("clause", "Which rule?", kind="choice", required=False,
                                         choices=(Choice("", "Suggest one"), *KINDS))), "clause")

    assert clause["choices"][0] == {"title": "Suggest one", "value": EMPTY_CHOICE_VALUE}
    assert all(choice["value"] for choice in clause["choices"])  # Adaptive Cards reject an empty value
    assert clause["value"] == EMPTY_CHOICE_VALUE


STAFF = (Choice(f"{PERSON_PREFIX}29:megan", "Megan Bowen"), Choice(f"{PERSON_PREFIX}29:adele", "Adele Vance"))


def test_a_person_field_is_a_drop_down_of_the_people_the_bot_knows():
    field = element(form_card(FormField("poster", "Who posted it?", kind="person", choices=STAFF, placeholder="Pick someone")), "poster")

    assert field == {
        "type": "Input.ChoiceSet", "id": "poster", "label": "Who posted it?",
        "choices": [{"title": "Megan Bowen", "value": "person:29:megan"}, {"title": "Adele Vance", "value": "person:29:adele"}],
        "style": "compact", "isMultiSelect": False, "placeholder": "Pick someone",
        "isRequired": True, "errorMessage": "Please choose one.",
    }


def test_an_optional_person_field_starts_on_nobody_or_on_the_person_given():
    empty = element(form_card(FormField("poster", "Who posted it?", kind="person", required=False, choices=STAFF)), "poster")
    given = element(form_card(FormField("poster", "Who posted it?", kind="person", required=False, choices=STAFF,
                                        initial="person:29:adele")), "poster")
    unknown = element(form_card(FormField("poster", "Who posted it?", kind="person", required=False, choices=STAFF,
                                          initial="person:29:stranger")), "poster")

    assert empty["choices"][0] == {"title": teams_texts.PERSON_NOBODY, "value": EMPTY_CHOICE_VALUE}
    assert [choice["value"] for choice in empty["choices"][1:]] == ["person:29:megan", "person:29:adele"]
    assert (empty["style"], empty["value"], "isRequired" in empty) == ("compact", EMPTY_CHOICE_VALUE, False)
    assert given["value"] == "person:29:adele"
    assert "value" not in unknown  # someone not among the choices cannot be shown as chosen


def test_a_person_field_without_choices_takes_a_typed_name():
    typed = element(form_card(FormField("poster", "Who posted it?", kind="person", required=False, max_length=200,
                                        initial="A parent, Mr Smith")), "poster")
    an_id = element(form_card(FormField("poster", "Who posted it?", kind="person", required=False,
                                        initial="person:29:megan")), "poster")

    assert (typed["type"], typed["value"], typed["maxLength"], typed["isRequired"]) == ("Input.Text", "A parent, Mr Smith", 200, False)
    assert an_id["type"] == "Input.Text" and "value" not in an_id  # an id is no name to show


def test_a_toggle_field_submits_true_or_false():
    off = element(form_card(FormField("about_headteacher", "It concerns the headteacher", kind="toggle", required=False)), "about_headteacher")
    on = element(form_card(FormField("about_headteacher", "It concerns the headteacher", kind="toggle", initial="true")), "about_headteacher")

    assert off == {
        "type": "Input.Toggle", "id": "about_headteacher", "title": "It concerns the headteacher",
        "valueOn": "true", "valueOff": "false", "value": "false",
    }
    assert on["value"] == "true"


def test_a_files_field_says_how_to_send_screenshots_in_the_chat():
    card = form_card(FormField("evidence", "Screenshots", kind="files", required=False, hint="Teams keeps its own copy."))

    assert not [item for item in card["body"] if item["type"].startswith("Input.")]
    shown_texts = card_texts(card)
    assert teams_texts.FILES_IN_CHAT in shown_texts and "add evidence to" in teams_texts.FILES_IN_CHAT
    assert "case code" in teams_texts.FILES_IN_CHAT
    assert shown_texts.index("Screenshots") < shown_texts.index(teams_texts.FILES_IN_CHAT) < shown_texts.index("Teams keeps its own copy.")


def test_form_errors_are_shown_at_the_top_in_attention_colour_with_what_was_typed_below():
    card = form_card(
        FormField("what", "What happened?", initial=""),
        FormField("where", "Where?", required=False, initial="Facebook"),
        errors=(("what", "Please say what happened."),),
    )

    title, error = card["body"][0], card["body"][1]
    assert title["text"] == "Report"
    assert (error["text"], error["color"]) == ("Please say what happened.", "Attention")
    assert element(card, "where")["value"] == "Facebook"
    assert card["actions"][-1]["data"]["form_id"] == "policybot.report_form"


def test_errors_without_a_form_are_still_shown_first():
    card = render_card(Reply(text="Try again.", title="Not sent", form_errors=(("what", "Too long"),)))
    assert (card["body"][0]["text"], card["body"][0]["color"]) == ("Too long", "Attention")


# --- Escaping -------------------------------------------------------------------------------------------

LURE = "[Re-verify your account](https://evil.example/login) **URGENT** _now_ `x` <https://evil.example> #1 > quote ~~gone~~ a|b"


def test_user_text_with_markdown_is_shown_literally_and_links_nowhere():
    card = render_card(Reply(text=LURE, title="You asked", facts=(Fact(label="Their question", value=LURE),)))

    block = card["body"][1]["text"]
    assert block == (
        "\\[Re-verify your account\\]\\(https:\u2060//evil\u2024example/login\\) \\*\\*URGENT\\*\\* \\_now\\_ \\`x\\` "
        "\\<https:\u2060//evil\u2024example\\> \\#1 \\> quote \\~\\~gone\\~\\~ a\\|b"
    )
    fact = next(item for item in card["body"] if item["type"] == "FactSet")["facts"][0]
    assert fact["value"] == block
    # Once the escaped characters are taken out, no Markdown character is left for a renderer to act on.
    assert not set(re.sub(r"\\.", "", block)) & set("[]()*_`<>#~|")
    assert read(shown(block)) == LURE


def test_list_markers_headings_and_entities_at_the_start_of_a_line_are_escaped():
    text = "- not a list\n+ nor this\n1. nor this\n2) nor this\n=== not a heading\n&amp; stays &amp;, & stays &"
    card = render_card(Reply(text="x", facts=(Fact(label="Details", value=text),)))

    value = next(item for item in card["body"] if item["type"] == "FactSet")["facts"][0]["value"]
    assert value.splitlines() == [
        "\\- not a list", "\\+ nor this", "1\\. nor this", "2\\) nor this", "\\=== not a heading",
        "\\&amp; stays \\&amp;, & stays &",
    ]
    assert shown(value) == text


def test_our_own_words_are_unchanged_by_escaping():
    for text in ("Can I post a photo of my class's trip? Don't worry.", "“Quoted,” she said: 50% — fine!", "K7QP-3XMD"):
        assert escape_markdown(text) == text


def test_a_long_text_is_cut_before_it_is_escaped():
    card = render_card(Reply(text="*" * 50_000))

    *blocks, note = card["body"]
    assert card_size(card) <= MAX_CARD_BYTES
    text = "".join(shown(block["text"]) for block in blocks)
    assert text == "*" * (len(text) - 1) + "…" and len(text) > MAX_TEXT_CHARS
    assert all(len(block["text"]) <= 2 * MAX_TEXT_CHARS for block in blocks)


def test_notification_text_is_the_summary_when_the_reply_has_one():
    assert notification_text(Reply(text="Case K7QP-3XMD: secret …", title="Report sent", notification_text="A new report")) == "A new report"
    assert notification_text(Reply(text="x", title="Report sent")) == "Report sent"


# --- Hostile input (issue 11) ---------------------------------------------------------------------------

BARE = "Re-verify at https://evil.example/login or www.evil.example, mail ht@evil.com, or http://intranet/x"


def all_strings(item) -> list[str]:
    if isinstance(item, dict):
        return [text for value in item.values() for text in all_strings(value)]
    if isinstance(item, list):
        return [text for value in item for text in all_strings(value)]
    return [item] if isinstance(item, str) else []


def test_bare_addresses_are_shown_as_typed_but_no_client_can_link_them():
    button = Button(label="Open www.evil.example", action_id="policybot.x", value="v")
    reply = Reply(text=BARE, title=BARE, facts=(Fact(label="Link", value=BARE),), quotes=(Quote(section=BARE, text=BARE),),
                  buttons=(button,), notification_text=BARE)

    card = render_card(reply)

    shown_texts = [text for text in all_strings(card["body"]) if "evil" in text]
    assert len(shown_texts) == 5  # heading, text, quote section and text, fact value
    for text in [*shown_texts, card["actions"][0]["title"], notification_text(reply)]:
        assert not any(link in text for link in ("http://", "https://", "www.", "evil.example", "evil.com")), text
    assert read(shown(card["body"][1]["text"])) == BARE
    assert read(notification_text(reply)) == BARE


def test_a_toggle_title_and_radio_button_labels_are_markdown_so_they_are_escaped():
    lure = "[Re-verify](https://evil.example)"
    card = form_card(
        FormField("agree", lure, kind="toggle", required=False),
        FormField("pick", "Pick", kind="choice", choices=(Choice("a", lure), Choice("b", "B"))),
        FormField("many", "Many", kind="choice", choices=tuple(Choice(f"c{n}", lure) for n in range(6))),
    )

    assert element(card, "agree")["title"].startswith("\\[Re-verify\\]\\(https:")
    assert element(card, "pick")["choices"][0]["title"].startswith("\\[Re-verify\\]\\(")
    # A drop-down's options are plain text: no backslashes, but no address either.
    assert read(element(card, "many")["choices"][0]["title"]) == lure and "https://" not in element(card, "many")["choices"][0]["title"]


def test_what_was_typed_in_a_form_comes_back_unchanged():
    typed = "See https://facebook.com/post/1 *now*"
    field = element(form_card(FormField("link", "Link", required=False, initial=typed)), "link")
    assert field["value"] == typed


def test_a_lone_surrogate_anywhere_makes_a_card_the_adapter_can_send():
    broken = "Ask \ud83d about this \udc00"
    reply = Reply(text=broken, title=broken, facts=(Fact(label=broken, value=broken),), quotes=(Quote(section=broken, text=broken),),
                  buttons=(Button(label=broken, action_id="policybot.x", value=broken),),
                  form=Form(form_id="f", title=broken, submit_label=broken, private_metadata=broken,
                            fields=(FormField("q", broken, initial=broken, placeholder=broken, hint=broken),)))

    card = render_card(reply)

    json.dumps(card, ensure_ascii=False).encode("utf-8")  # raises on a lone surrogate
    notification_text(reply).encode("utf-8")
    assert "\ufffd" in card["body"][1]["text"]
    assert render_card(Reply(text="\ud83d\ude00"))["body"][0]["text"] == "\U0001f600"  # a split pair is mended


def test_control_characters_and_direction_overrides_are_not_shown():
    card = render_card(Reply(text="a\x00b\x1bc\u202ed\u2066e\r\nf", title="t"))
    assert [block["text"] for block in card["body"][1:]] == ["abcde", "f"]


def test_many_long_quotes_and_facts_are_left_out_from_the_end_to_stay_within_teams_limit():
    reply = Reply(
        text="Why.",
        quotes=tuple(Quote(section=f"Section {n}", text="clause " * 300) for n in range(12)),
        facts=tuple(Fact(label=f"Fact {n}", value="value " * 300) for n in range(12)),
        buttons=(Button(label="OK", action_id="policybot.ok"),),
    )

    card = render_card(reply)

    assert card_size(card) <= MAX_CARD_BYTES
    assert card["body"][0]["text"] == "Why." and card["actions"][0]["title"] == "OK"
    assert escape_markdown(conversation_texts.SHORTENED_NOTE) in [block.get("text") for block in card["body"]]


def test_long_labels_and_button_titles_are_capped():
    card = render_card(Reply(text="x", buttons=(Button(label="b" * 20_000, action_id="policybot.x"),),
                             facts=(Fact(label="l" * 20_000, value="v"),)))
    assert card_size(card) <= MAX_CARD_BYTES and len(card["actions"][0]["title"]) <= 80
