"""Drafts pasted to be checked ("check this before I post: '…'"). The draft is read on its own, and what
in it the policy touches comes back as findings, each with its clause: a child's name with their class,
a class code, the school's name or tag, a named colleague, a trip's date and place, disparaging, sexual
or confidential content. What to look for is data (`[[findings]]` in the knowledge file)."""

from __future__ import annotations

import re

from policy_kb.answer import Citation, Finding
from policy_kb.knowledge import FindingRule

# A quoted draft: from the first opening quote to the last closing one, so apostrophes inside it stay in.
_QUOTED = re.compile(r"(?:^|[\s:(])[\"“'‘](?P<draft>.{20,})[\"”'’]", re.DOTALL)
# Or what follows "check this:", "is this ok to post:", "draft:".
_AFTER_COLON = re.compile(
    r"(?:check|ok to post|okay to post|alright to post|fine to post|before i post|draft|caption|bio)[^:\n]{0,40}:\s*(?P<draft>.{20,})$",
    re.IGNORECASE | re.DOTALL,
)
# Or a post pasted under a line that asks about it ("thoughts?", "ok for insta?").
_UNDER_A_QUESTION = re.compile(r"^\s*[^\n]{1,60}\?[ \t]*\n+\s*(?P<draft>\S.{19,})$", re.DOTALL)
_ASKS_FOR_A_CHECK = re.compile(
    r"(?i)\b(?:check|ok to post|okay to post|alright to post|fine to post|before i post|draft|caption|post this|posting this|is this ok|is this okay|is this alright|is this fine)\b"
)
EXCERPT_CHARS = 80


def draft_in(question: str) -> str | None:
    """The draft a question asks to have checked, or None: a quote in a question that asks for no check
    ("a parent called us 'a disgrace'") is someone else's words, not a draft."""
    under_a_question = _UNDER_A_QUESTION.match(question)
    if not _ASKS_FOR_A_CHECK.search(question):
        return under_a_question.group("draft").strip() if under_a_question else None
    for pattern in (_QUOTED, _AFTER_COLON):
        match = pattern.search(question)
        if match:
            return match.group("draft").strip()
    return under_a_question.group("draft").strip() if under_a_question else None


def findings_in(draft: str, *, concepts: frozenset[str], rules: tuple[FindingRule, ...],
                fallback: Citation | None = None) -> tuple[Finding, ...]:
    """What the draft touches: each rule whose concepts the draft mentions or whose pattern it matches. A
    rule whose own quote the loaded policy lacks cites `fallback` (the restriction the answer rests on), or
    is left out: never cite what the policy does not say."""
    found = []
    for rule in rules:
        citation = rule.citation or fallback
        if citation is None:
            continue
        match = next((m for m in (pattern.search(draft) for pattern in rule.patterns) if m), None)
        if match is None and not rule.concepts & concepts:
            continue
        excerpt = match.group(0).strip() if match else ""
        found.append(Finding(label=rule.label, excerpt=excerpt[:EXCERPT_CHARS], citation=citation))
    return tuple(found)
