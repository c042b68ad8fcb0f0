"""What the advisor returns: a verdict, a plain-English reason and the clauses it rests on."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum


class Verdict(str, Enum):
    ALLOWED = "allowed"
    NOT_ALLOWED = "not_allowed"
    ASK_HEADTEACHER = "ask_headteacher"
    REPORT = "report"
    INFO = "info"
    OUT_OF_SCOPE = "out_of_scope"


@dataclass(frozen=True)
class Citation:
    section: str  # the section heading exactly as the document has it
    quote: str  # text copied from the loaded policy, never paraphrased
    clause_id: str


@dataclass(frozen=True)
class Finding:
    """Something in a pasted draft that the policy touches: what it is, the words, the clause."""

    label: str  # "a child's name in a class context"
    excerpt: str  # the draft's own words ("Amelia in 4B")
    citation: Citation


@dataclass(frozen=True)
class Answer:
    verdict: Verdict
    answer: str
    citations: tuple[Citation, ...] = ()
    next_steps: tuple[str, ...] = ()
    situation: str = ""  # the id of the curated situation it matched, "" when none
    confident: bool = True
    extra: dict = field(default_factory=dict)
    # For a draft pasted to be checked: what in it the policy touches (empty: nothing, a yes).
    findings: tuple[Finding, ...] = ()

    def to_dict(self) -> dict:
        return {
            "verdict": self.verdict.value,
            "answer": self.answer,
            "citations": [asdict(c) for c in self.citations],
            "next_steps": list(self.next_steps),
            "situation": self.situation,
            "confident": self.confident,
            "findings": [{"label": f.label, "excerpt": f.excerpt, "section": f.citation.section} for f in self.findings],
        }
