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
