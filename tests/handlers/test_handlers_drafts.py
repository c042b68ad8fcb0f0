"""A draft's findings reach the person on every surface: in the answer's text, so Slack, Teams and the
terminal each show them (escaped for their markup)."""

from __future__ import annotations

import dataclasses

from handler_helpers import PHOTOS, dm

from bot import terminal
from bot.slack import render as slack_render
from bot.teams import cards
from handlers import texts
from policy_kb.answer import Finding

CLAUSE = PHOTOS.citations[0]
WITH_FINDINGS = dataclasses.replace(
    PHOTOS,
    findings=(
        Finding(label="a child's name", excerpt="Amelia in 4B", citation=CLAUSE),
        Finding(label="the school", excerpt="#Alderley_*Primary*", citation=CLAUSE),
    ),
)


async def test_findings_are_listed_under_the_answer_with_their_section(core, advisor):
    advisor.answer = WITH_FINDINGS
    [reply] = await core.handle(dm("check this before I post: 'So proud of Amelia in 4B #Alderley_*Primary*'"))
    assert texts.FINDINGS_HEADING in reply.text
    assert f"• a child's name “Amelia in 4B” ({CLAUSE.section})" in reply.text

    slack_text = " ".join(block["text"]["text"] for block in slack_render.message(reply)["blocks"] if block.get("text"))
    assert "Amelia in 4B" in slack_text
    teams_text = str(cards.render_card(reply))
    assert "Amelia in 4B" in teams_text and "\\\\*Primary\\\\*" in teams_text  # Adaptive Card markdown escaped
    assert "“Amelia in 4B”" in terminal.render(reply)


async def test_an_answer_without_findings_has_no_findings_list(core, advisor):
    [reply] = await core.handle(dm("Can I post photos of my class?"))
    assert texts.FINDINGS_HEADING not in reply.text
