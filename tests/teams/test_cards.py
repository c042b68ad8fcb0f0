"""The Adaptive Card renderer on its own: what each part of a neutral reply becomes."""

from __future__ import annotations

from bot.teams.cards import MAX_TEXT_CHARS, render_card
from handlers.messages import Button, Fact, Quote, Reply


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


def test_a_huge_text_is_capped_so_the_card_stays_under_teams_limit():
    card = render_card(Reply(text="x" * 50_000))

    assert sum(len(block["text"]) for block in card["body"]) <= MAX_TEXT_CHARS
    assert "actions" not in card


# --- Forms: every field kind --------------------------------------------------------------------------

import re  # noqa: E402

from bot.teams import texts as teams_texts  # noqa: E402
from bot.teams.cards import escape_markdown  # noqa: E402
from handlers.messages import Choice, Form, FormField  # noqa: E402

from .test_flows import card_texts, shown  # noqa: E402

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
        "\\[Re-verify your account\\]\\(https://evil.example/login\\) \\*\\*URGENT\\*\\* \\_now\\_ \\`x\\` "
        "\\<https://evil.example\\> \\#1 \\> quote \\~\\~gone\\~\\~ a\\|b"
    )
    fact = next(item for item in card["body"] if item["type"] == "FactSet")["facts"][0]
    assert fact["value"] == block
    # Once the escaped characters are taken out, no Markdown character is left for a renderer to act on.
    assert not set(re.sub(r"\\.", "", block)) & set("[]()*_`<>#~|")
    assert shown(block) == LURE


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


def test_a_long_text_is_capped_before_it_is_escaped():
    block = render_card(Reply(text="*" * 50_000))["body"][0]["text"]
    assert shown(block) == "*" * (MAX_TEXT_CHARS - 1) + "…"


def test_notification_text_is_the_summary_when_the_reply_has_one():
    from bot.teams.cards import notification_text

    assert notification_text(Reply(text="Case K7QP-3XMD: secret …", title="Report sent", notification_text="A new report")) == "A new report"
    assert notification_text(Reply(text="x", title="Report sent")) == "Report sent"
