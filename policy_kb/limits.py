"""A permission with limits, checked against the question: "phones may be used only in the staffroom and
off-site, during breaks" says yes at lunch in town, no in the car park, and leaves "at work" to the
headteacher.

A policy sentence with a condition ("only…", "once…", "provided…", "unless…", "staff who…") limits its
rule to the values it names on each dimension the knowledge file lists (where, when, whose agreement,
which relationship, how old). A question meets a dimension when every value it names there is one of
those (or a kind of one: lunch is a break); it breaks it when it names another; otherwise it does not say. Every dimension met is the policy's own exception; one broken is outside it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum

from policy_kb.answer import Citation, Verdict
from policy_kb.measures import ADULT, MEASURED, MIN_AGE, draws_a_line, meets, policy_thresholds

# A sentence with one of these sets conditions on its rule.
CONDITION_START = re.compile(
    r"\b(?:only|once|provided|providing|as long as|so long as|on (?:the )?condition that|subject to|unless|except|where|whenever|when|who|(?:limited|restricted|confined) to)\b",
    re.IGNORECASE
)

# Words that open a condition on a rule: each condition they open must be one a dimension reads before
# meeting the limits can be a yes ("once they are 18 and have left two years": the two years is read by none).
CONNECTIVES = ("only", "once", "provided", "providing", "as long as", "so long as", "unless", "except", "other than",
               "apart from", "but", "however", "never", "not", "no", "until", "after", "if", "when", "where", "whilst",
               "while", "who", "limited to", "restricted to", "confined to", "subject to", "on condition that", "on the condition that")
# A deadline, a length of time or a form is a condition of its own ("within ten working days", "in writing").
LIMITING_TERMS = ("within", "at least", "more than", "less than", "no later than", "in writing", "written")
CONDITION_OPENS = re.compile(r"\b(?:" + "|".join(CONNECTIVES + LIMITING_TERMS) + r")\b", re.IGNORECASE)
_PERMISSION_AFTER = re.compile(r"\s+(?:staff|you|employees?|colleagues|they)\s+(?:may|can|are free to|are welcome to)\b", re.IGNORECASE)
# "(for example their own child, niece or nephew)": examples, not conditions.
_ASIDE = re.compile(r"\([^)]*\)")
# What a permission leaves out is a circumstance ("except when you are on duty", "but not during lessons").
_CIRCUMSTANCE = re.compile(
    r"\W*(?:except|unless|but|other than|apart from|excluding)?\s*(?:not\s+)?(?:when|while|whilst|during|on|in|at)\b", re.IGNORECASE)
_VERB_NEGATED = re.compile(r"\b(?:does|do|did|is|are|was|were|can|could|will|would|has|have|should|must|may)\s+not$", re.IGNORECASE)
_SCHOOL_ACTED = re.compile(r"\W*(?:once|when|after|until)?\s*(?:the|its|our)\s+(?:school|academy|trust|federation)\s+(?:has|have|had)\b", re.IGNORECASE)
_CLAUSE_REFERENCE = re.compile(r"\b\d{1,2}\.\d{1,2}\b")
_LEADING_NUMBER = re.compile(r"^\s*(?:\d+(?:\.\d+)*\.?|\([a-z0-9]+\)|[a-z]\))\s+", re.IGNORECASE)
# A piece of a condition this short with no concept in it ("or over", "again", "when you are") adds no
# condition of its own; these words do not count.
_MIN_CONDITION_WORDS = 2
_FILLER = frozenset(
    "a an the it its this that they them their you your staff member members is are be been being was were "
    "has have had do does can may will would should must to of for with on in at as so any".split()
) | frozenset(word for connective in CONNECTIVES for word in connective.split())

# "Only during breaks, including lunch" allows any break; "only at lunchtime", lunch alone: each part of a
# condition is read on its own, and in each the narrower value is what it says.
CONDITION_PARTS = re.compile(r",|;|\band\b|\bor\b|\bincluding\b", re.IGNORECASE)
# "…in staff-only areas at any time, including during breaks": the times it names are examples, not a limit.
ANY_TIME = re.compile(r"\b(?:at any time|any time of (?:the )?day|whenever they (?:like|wish|want))\b", re.IGNORECASE)
TIME_DIMENSION = "time"
AGE_DIMENSION = "age"
_EXAMPLES = re.compile(r",?\s*\b(?:including|for example|such as|e\.g\.)[^.;]*", re.IGNORECASE)

Limits = tuple[tuple[str, tuple[str, ...]], ...]  # (dimension, the values the sentence allows), in the file's order
# A condition that rules something out ("provided no pupil data is entered", "as long as they do not identify
# the school") is a limit of its own: met by a question that rules it out too ("no names in it"), broken by
# one that names it and does not, unsaid otherwise.
WITHOUT = "without"
# A rule with limits: "allowed" is a yes within them, "ask_headteacher" a check first; outside them, a no. A
# permission with limits is worded either way ("may … provided it is declared" reads as a check first).
LIMITED_VERDICTS = frozenset({Verdict.ALLOWED, Verdict.ASK_HEADTEACHER})


@dataclass(frozen=True)
class Permission:
    """Another sentence that allows the situation within limits it sets, each of its conditions one a limit
    reads ("Staff may remain friends with a parent where the friendship existed before the child joined,
    provided it has been declared"): a question that meets every one of them is the policy's own exception."""

    citation: Citation
    limits: Limits
    lifts: tuple[str, ...] = ()


class Fit(Enum):
    MET = "met"
    BROKEN = "broken"
    UNSAID = "unsaid"


@dataclass(frozen=True)
class LimitDimensions:
    dimensions: dict[str, frozenset[str]]  # dimension -> its value concepts, in the file's order
    kinds: dict[str, str]  # a value -> the broader value it is a kind of ("lunch_time" -> "break_time")
    # What a condition may rule out (`WITHOUT`): the restrictions.
    absent: frozenset[str] = frozenset()
    # What a value said also says: in the staffroom no pupils are present, and "no pupils present" rules out
    # the pupils a question names ("before the kids come in").
    implies: dict[str, frozenset[str]] = field(default_factory=dict)
    rules_out: dict[str, frozenset[str]] = field(default_factory=dict)

    def of_sentence(self, sentence: str, concepts_of, ruled_out_of=None) -> Limits:
        """The limits a sentence with a condition sets; () when it sets none. With `ruled_out_of` (what a
        text names only to rule out), what its condition rules out is a limit too."""
        condition = CONDITION_START.search(sentence)
        # "Staff may connect with former pupils aged 21 or over": a line drawn is a condition of its own.
        thresholds = policy_thresholds(sentence)
        if condition is None and not thresholds:
            return ()
        # The whole sentence, not just what follows "once": "parents they knew before the child joined, once
        # declared" limits the relationship as well as the agreement.
        named = frozenset().union(*(
            self._most_specific(concepts_of(part)) for part in CONDITION_PARTS.split(sentence) if part.strip()
        ))
        ruled_out = ruled_out_of(sentence[condition.start() if condition else 0:]) & self.absent if ruled_out_of else frozenset()
        limits = self._limits_naming(named)
        if any(name == MIN_AGE for name, _ in thresholds):
            # The age it names is the line; "adult" alone would take 19 for 21.
            limits = tuple((name, values) for name, values in limits if name != AGE_DIMENSION)
        limits += thresholds
        if ANY_TIME.search(sentence):
            limits = tuple((name, values) for name, values in limits if name != TIME_DIMENSION)
        return limits + (((WITHOUT, tuple(sorted(ruled_out))),) if ruled_out else ())

    def left_out(self, exception: str, concepts_of) -> Limits:
        """What a permission leaves out ("…except when you are on a timetabled duty (playground, gate)"), as
        restrictions the question must rule out; () when it leaves out something no restriction names."""
        if not _CIRCUMSTANCE.match(exception):
            return ()  # "…unless you teach their child's class" leaves out a relationship, which no restriction reads
        named = concepts_of(_ASIDE.sub("", exception)) & self.absent
        return ((WITHOUT, tuple(sorted(named))),) if named else ()

    def of_duty(self, sentence: str, concepts_of) -> Limits:
        """The values a duty names ("must be declared to the headteacher": whose agreement), with no condition
        word needed; () when it names none."""
        return self._limits_naming(self._most_specific(concepts_of(sentence)))

    def _limits_naming(self, named: frozenset[str]) -> Limits:
        return tuple((name, tuple(sorted(values & named))) for name, values in self.dimensions.items() if values & named)

    def merged(self, *limits: Limits) -> Limits:
        """Limits read from several sentences of one rule, each dimension's values together, in the file's order."""
        values: dict[str, set[str]] = {}
        for each in limits:
            for name, allowed in each:
                values.setdefault(name, set()).update(allowed)
        # Two lines drawn on one measure: the higher holds.
        for name in MEASURED:
            if name in values:
                values[name] = {max(values[name], key=int)}
        return tuple((name, tuple(sorted(values[name]))) for name in (*self.dimensions, *MEASURED, WITHOUT) if name in values)

    def reads_every_condition(self, sentence: str, concepts_of, ruled_out_of=None) -> bool:
        """Whether each condition the sentence sets is one of the dimensions' values, or rules out what the
        policy restricts: only then can a question that meets its limits be told yes. A condition that opens
        the sentence ("Where a pupil is a relative, staff may…") runs to its comma; one that follows the rule,
        to the sentence's end."""
        text = _LEADING_NUMBER.sub("", _ASIDE.sub("", sentence)).strip()
        if ANY_TIME.search(text):
            text = _EXAMPLES.sub("", text)
        values = frozenset().union(*self.dimensions.values())
        position = 0
        while (opened := CONDITION_OPENS.search(text, position)) is not None:
            if _PERMISSION_AFTER.match(text, opened.end()) and opened.group(0).lower() in {"where", "when"}:
                # "…professional networking sites, where staff may name the school": where the permission holds,
                # said by the permission itself.
                position = opened.end()
                continue
            opens_the_sentence = not text[:opened.start()].strip(" ,;:")
            comma = text.find(",", opened.end())
            end = comma if opens_the_sentence and comma >= 0 else len(text)
            # "…left the school at least two years ago": a line drawn reads the whole part it is drawn in.
            pieces = (piece for part in CONDITION_PARTS.split(text[opened.start():end]) if not draws_a_line(part)
                      for piece in _opened_pieces(part))
            for piece in pieces:
                concepts = concepts_of(piece)
                words = [word for word in re.findall(r"[a-z]+", piece.lower()) if word not in _FILLER]
                if _CLAUSE_REFERENCE.search(piece):
                    return False  # "…and comply with 4.7": another clause's conditions, unread here
                if _SCHOOL_ACTED.match(piece):
                    return False  # "once the school has posted about an event": what the school did first, unread
                if not concepts and len(words) < _MIN_CONDITION_WORDS:
                    continue
                if not concepts & values and not (ruled_out_of and ruled_out_of(piece) & self.absent):
                    return False
            position = end
        return True

    def fit(self, limits: Limits, question_concepts: frozenset[str], ruled_out: frozenset[str] = frozenset(),
            measures: frozenset[tuple[str, int]] = frozenset()) -> Fit:
        question_concepts = question_concepts | frozenset().union(*(self.implies.get(name, ()) for name in question_concepts))
        ruled_out = ruled_out | frozenset().union(*(self.rules_out.get(name, ()) for name in question_concepts))
        named = self._most_specific(question_concepts)
        fits = []
        for name, allowed in limits:
            if name in MEASURED:
                said = [value for measured, value in measures if measured == name]
                # "She's an adult now" meets a line drawn at 18, and no other.
                adult = name == MIN_AGE and int(allowed[0]) <= ADULT and bool(question_concepts & self.dimensions.get(AGE_DIMENSION, frozenset()))
                fits.append((Fit.MET if meets(allowed[0], said) else Fit.BROKEN) if said else Fit.MET if adult else Fit.UNSAID)
                continue
            if name == WITHOUT:
                # "…no names in it": the question rules it out too; "…with her name on it", it does not.
                said_without = bool(ruled_out & set(allowed))
                fits.append(Fit.MET if said_without else Fit.BROKEN if question_concepts & set(allowed) else Fit.UNSAID)
                continue
            said = named & self.dimensions.get(name, frozenset())
            # Each place or time the question names must be one the policy allows ("in the PPA room, it's
            # quieter than the staff room" is not in the staff room).
            outside = {value for value in said if value not in allowed and self.kinds.get(value) not in allowed}
            # "…haven't mentioned it to anyone at school": what the policy asks for, said not to be so.
            denied = not said and bool(ruled_out & set(allowed))
            fits.append(Fit.BROKEN if outside or denied else Fit.MET if said else Fit.UNSAID)
        if not fits:
            return Fit.UNSAID
        if Fit.BROKEN in fits:
            return Fit.BROKEN
        return Fit.MET if all(fit is Fit.MET for fit in fits) else Fit.UNSAID

    def _most_specific(self, concepts: frozenset[str]) -> frozenset[str]:
        # "At lunch" reads as a break as well as lunch: the narrower value is what was said.
        return frozenset(c for c in concepts if not any(self.kinds.get(other) == c for other in concepts))


def _opened_pieces(part: str) -> list[str]:
    """"provided it is declared within ten working days": each condition word opens a piece of its own."""
    # "…the image does not identify the academy": a verb's own "not" opens no condition of its own.
    starts = [0, *(found.start() for found in CONDITION_OPENS.finditer(part)
                   if found.start() > 0 and not _VERB_NEGATED.search(part[:found.end()]))]
    return [part[start:end] for start, end in zip(starts, [*starts[1:], len(part)])]


def read_dimensions(spec: dict, known: set[str], *, absent: frozenset[str] = frozenset()) -> tuple[LimitDimensions, set[str]]:
    """From the knowledge file's [limits] table, and what a condition may rule out; with the concept names
    it uses that it does not define."""
    kinds = {str(k): str(v) for k, v in (spec.get("kinds") or {}).items()}
    implies, rules_out = (
        {str(k): frozenset(str(v).split()) for k, v in (spec.get(table) or {}).items()} for table in ("implies", "rules_out")
    )
    dimensions = {
        name: frozenset(str(value).split()) for name, value in spec.items() if isinstance(value, str)
    }
    used = {value for values in dimensions.values() for value in values} | set(kinds) | set(kinds.values())
    used |= {name for table in (implies, rules_out) for key, values in table.items() for name in (key, *values)}
    return LimitDimensions(dimensions, kinds, absent, implies, rules_out), used - known
