"""A permission with limits, checked against the question: "phones may be used only in the staffroom and
off-site, during breaks" says yes at lunch in town, no in the car park, and leaves "at work" to the
headteacher.

A policy sentence with a condition ("only…", "once…", "provided…", "unless…", "staff who…") limits its
rule to the values it names on each dimension the knowledge file lists (where, when, whose agreement,
which relationship, how old). A question meets a dimension when every value it names there is one of
those (or a kind of one: lunch is a break); it breaks it when it names another; otherwise it does not say. Every dimension met is the policy's own exception; one broken is outside it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

# A sentence with one of these sets conditions on its rule.
CONDITION_START = re.compile(
    r"\b(?:only|once|provided|providing|as long as|so long as|unless|except|where|who)\b", re.IGNORECASE
)

# "Only during breaks, including lunch" allows any break; "only at lunchtime", lunch alone: each part of a
# condition is read on its own, and in each the narrower value is what it says.
CONDITION_PARTS = re.compile(r",|;|\band\b|\bor\b|\bincluding\b", re.IGNORECASE)

Limits = tuple[tuple[str, tuple[str, ...]], ...]  # (dimension, the values the sentence allows), in the file's order


class Fit(Enum):
    MET = "met"
    BROKEN = "broken"
    UNSAID = "unsaid"


@dataclass(frozen=True)
class LimitDimensions:
    dimensions: dict[str, frozenset[str]]  # dimension -> its value concepts, in the file's order
    kinds: dict[str, str]  # a value -> the broader value it is a kind of ("lunch_time" -> "break_time")

    def of_sentence(self, sentence: str, concepts_of) -> Limits:
        """The limits a sentence with a condition sets; () when it sets none."""
        if CONDITION_START.search(sentence) is None:
            return ()
        # The whole sentence, not just what follows "once": "parents they knew before the child joined, once
        # declared" limits the relationship as well as the agreement.
        named = frozenset().union(*(
            self._most_specific(concepts_of(part)) for part in CONDITION_PARTS.split(sentence) if part.strip()
        ))
        return tuple((name, tuple(sorted(values & named))) for name, values in self.dimensions.items() if values & named)

    def fit(self, limits: Limits, question_concepts: frozenset[str]) -> Fit:
        named = self._most_specific(question_concepts)
        fits = []
        for name, allowed in limits:
            said = named & self.dimensions.get(name, frozenset())
            # Each place or time the question names must be one the policy allows ("in the PPA room, it's
            # quieter than the staff room" is not in the staff room).
            outside = {value for value in said if value not in allowed and self.kinds.get(value) not in allowed}
            fits.append(Fit.BROKEN if outside else Fit.MET if said else Fit.UNSAID)
        if not fits:
            return Fit.UNSAID
        if Fit.BROKEN in fits:
            return Fit.BROKEN
        return Fit.MET if all(fit is Fit.MET for fit in fits) else Fit.UNSAID

    def _most_specific(self, concepts: frozenset[str]) -> frozenset[str]:
        # "At lunch" reads as a break as well as lunch: the narrower value is what was said.
        return frozenset(c for c in concepts if not any(self.kinds.get(other) == c for other in concepts))


def read_dimensions(spec: dict, known: set[str]) -> tuple[LimitDimensions, set[str]]:
    """From the knowledge file's [limits] table; with the concept names it uses that it does not define."""
    kinds = {str(k): str(v) for k, v in (spec.get("kinds") or {}).items()}
    dimensions = {
        name: frozenset(str(value).split()) for name, value in spec.items() if name != "kinds" and isinstance(value, str)
    }
    used = {value for values in dimensions.values() for value in values} | set(kinds) | set(kinds.values())
    return LimitDimensions(dimensions, kinds), used - known
