"""Rules read from a school's own policy: for each situation staff ask about, the sentence that decides it
and the verdict its wording gives.

The vocabulary and the situations are the same in every English school; what each policy decides is not.
A situation's concepts are looked for in every sentence through the same vocabulary the questions are read
with (the heading and the line introducing a list count too), helped by how the bundled school's policy
words the same rule; the verdict comes from the sentence's wording (`wording.decided_by`). A situation no
sentence speaks to is left to the headteacher, and says so."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, replace

from policy_kb.answer import Citation, Verdict
from policy_kb.document import SUBHEADING, Clause, PolicyDocument
from policy_kb.knowledge import Knowledge, Situation
from policy_kb.limits import LIMITED_VERDICTS, WITHOUT, Limits, Permission
from policy_kb.matcher import ConceptMatcher
from policy_kb.measures import MEASURED
from policy_kb.search import STOPWORDS
from policy_kb.text import tokens
from policy_kb.wording import (
    conditions_of_what_it_does_not_prevent,
    decided_by, exception_part, forbids, grants_within_limits, has_condition, imposes_a_report, parts_of, permitted_part,
)

# "…, but should not share information gained through their role": a duty of its own, with a verb of its own.
OWN_DUTY = re.compile(r"^\s*(?:(?:staff|they|you|employees?)\s+)?(?:must|should|shall)\s+(?:not\s+|never\s+)?(?!be\b)[a-z]+", re.IGNORECASE)

# "…but should not expect a reply": what staff should not expect or assume is no act of theirs.
EXPECTATIONS = {"expect", "assume", "presume", "rely", "feel", "worry"}

# Concepts that describe how a question is put ("can I", "what are the rules on"), never a policy's subject.
QUESTION_FORMS = re.compile(r"_q$")
SENTENCE_END = re.compile(r"(?<=[.;!?])\s+(?=[A-Z(“\"'‘])")
MIN_SENTENCE_CHARS = 25
# Below these a sentence is not taken to speak to the situation at all.
MIN_CONCEPT_COVER = 0.5
MIN_LIKENESS = 0.45
LIKENESS_WEIGHT = 0.6
# An "allowed" read from wording alone needs the sentence to name the situation this clearly.
SURE_COVER = 0.75
# Limits are read only from a sentence short enough to be one rule.
MAX_LIMITED_CHARS = 400
# A yes for what schools' policies usually restrict needs the sentence to name every concept of the case.
FULL_COVER = 0.99
# A general permission speaks of social media as such, not of one platform or feature.
SOCIAL_MEDIA = re.compile(r"\bsocial media\b", re.IGNORECASE)
PERMISSIONS = {Verdict.ALLOWED, Verdict.NOT_ALLOWED, Verdict.ASK_HEADTEACHER}
RESTRICTIVE = {Verdict.NOT_ALLOWED, Verdict.ASK_HEADTEACHER}
# A situation's other ways through, at most: the policy's exceptions for one case are few.
MAX_PERMISSIONS = 3


@dataclass(frozen=True)
class Sentence:
    clause: Clause
    text: str  # exactly as the document has it
    lead_in: str  # the sentence before it in its clause, or the line introducing its list, or ""
    concepts: frozenset[str]  # its own and its lead-in's
    heading_concepts: frozenset[str]
    words: Counter


@dataclass(frozen=True)
class DerivedRule:
    situation_id: str
    verdict: Verdict | None  # None: the policy does not speak to this situation
    citation: Citation | None
    confidence: str  # "high", "medium", "low" or "none"
    score: float = 0.0
    # A "check first" read from a permission with limits: the limits, checked against each question, and
    # the restricted things the sentence itself speaks of (which its permission is the policy's exception to).
    # An "allowed" with limits is a yes within every one of them: the sentence sets no condition they miss.
    limits: Limits = ()
    lifts: tuple[str, ...] = ()
    # The sentence also says whom to tell when this happens ("…and must report it to the DSL").
    reports: bool = False
    # The policy's other ways through for this situation, tried when the rule itself gives no yes.
    permissions: tuple[Permission, ...] = ()


def derive_rules(document: PolicyDocument, knowledge: Knowledge, *, sentences: list[Sentence] | None = None) -> tuple[DerivedRule, ...]:
    """One rule per situation. A situation's `wording` (how the bundled policy words its rule) is a
    likeness to look for, never a quote to cite."""
    matcher = ConceptMatcher(knowledge, school_name=document.school_name)
    if sentences is None:
        sentences = split_sentences(document, matcher)
    likeness = Likeness(sentences)
    weights = _concept_weights(knowledge, sentences)
    asking = {knowledge.asking, knowledge.policy_question, knowledge.what_to_do, knowledge.third_party}
    # What a question about the policy asks for ("what counts as", "what happens if I break it") is the
    # subject of the policy's own sentences on it: only for requests are such forms never a policy's subject.
    question_only = asking | {name for name in knowledge.concepts if QUESTION_FORMS.search(name)}
    return tuple(
        _derive(situation, sentences, likeness.scores(situation.wording), weights, knowledge,
                question_only if situation.verdict is not Verdict.INFO else asking, matcher)
        for situation in knowledge.situations
    )


def split_sentences(document: PolicyDocument, matcher: ConceptMatcher) -> list[Sentence]:
    sentences = []
    for section in document.sections:
        # A subsection is told from its neighbours by its own heading, not by the section's they share.
        heading = section.heading.rsplit(SUBHEADING, 1)[-1]
        heading_concepts = _concepts(matcher, heading)
        lead_in, lead_in_concepts = "", frozenset()
        for clause in section.clauses:
            if clause.kind == "paragraph":
                lead_in, lead_in_concepts = "", frozenset()
            parts = [part for part in SENTENCE_END.split(clause.text) if part.strip()]
            previous = ""
            for part in parts:
                if len(part) < MIN_SENTENCE_CHARS and len(parts) > 1:
                    continue
                # "Never say where you work. This includes your bio…": the sentence before speaks for it.
                context = previous or lead_in
                # Its wording may come from the sentence before; what it is about, only from its list's lead-in.
                concepts = _concepts(matcher, part) | lead_in_concepts
                words = Counter(t for t in tokens(f"{heading} {context} {part}") if t not in STOPWORDS)
                sentences.append(Sentence(clause, part.strip(), context, concepts, heading_concepts, words))
                previous = part
            if clause.kind == "paragraph" and clause.text.rstrip().endswith(":"):
                lead_in, lead_in_concepts = clause.text, _concepts(matcher, clause.text)
    return sentences


def _concepts(matcher: ConceptMatcher, text: str) -> frozenset[str]:
    if not text:
        return frozenset()
    reading = matcher.read(text)
    # A policy's "must not post photos of pupils" is about photos of pupils: its negation is the rule.
    named = reading.concepts | reading.negated
    # "A friendship that existed before the child joined" speaks of a link with the family as such.
    return named | {matcher.kind_of[name] for name in named if name in matcher.kind_of}


def _derive(situation: Situation, sentences, like: list[float], weights, knowledge: Knowledge, question_only, matcher) -> DerivedRule:
    sure: list[tuple[float, Sentence, Verdict | None]] = []  # the sentences naming it in full, as found
    rule = _derive_rule(situation, sentences, like, weights, knowledge, question_only, matcher, sure)
    if situation.verdict in (Verdict.INFO, Verdict.REPORT) or rule.citation is None:
        return rule
    return replace(rule, permissions=_permissions(rule, sure, knowledge, matcher))


def _permissions(rule: DerivedRule, sure, knowledge: Knowledge, matcher: ConceptMatcher) -> tuple[Permission, ...]:
    """The sentences naming the situation in full that allow it within limits every condition of which a
    limit reads, best first; not the rule's own sentence when that already gives its yes. A prohibition's
    exception ("must not post during the working day, except at lunch") is not among them: it answers for
    the act it forbids, and a question about another act at lunch would be told yes."""
    found = []
    for _, sentence, verdict in sorted(sure, key=lambda item: -item[0]):
        own_yes = rule.verdict is Verdict.ALLOWED and rule.limits and sentence.text == rule.citation.quote
        if own_yes or verdict not in {*LIMITED_VERDICTS, Verdict.NOT_ALLOWED}:
            continue
        limits, lifts, every_condition_read = _limits(sentence, knowledge, matcher)
        # "…not permitted until the former pupil is aged 21": a line drawn on the person, not on the act, is a
        # way through a prohibition too.
        if verdict is Verdict.NOT_ALLOWED and not (limits and all(name in MEASURED for name, _ in limits)):
            continue
        if limits and every_condition_read:
            citation = Citation(section=sentence.clause.section, quote=sentence.text, clause_id=sentence.clause.clause_id)
            found.append(Permission(citation, limits, lifts))
        if len(found) == MAX_PERMISSIONS:
            break
    return tuple(found)


def _derive_rule(situation: Situation, sentences, like: list[float], weights, knowledge: Knowledge, question_only,
                 matcher, sure: list) -> DerivedRule:
    patterns = [[name for name in pattern if name not in question_only] for pattern in situation.patterns]
    patterns = [pattern for pattern in patterns if pattern]
    wanted_report = situation.verdict is Verdict.REPORT
    best: tuple[float, float, Sentence, Verdict | None] | None = None
    for index, sentence in enumerate(sentences):
        cover = max((_cover(pattern, sentence, weights, knowledge, about_the_policy=situation.verdict is Verdict.INFO)
                     for pattern in patterns), default=0.0)
        if cover < MIN_CONCEPT_COVER and like[index] < MIN_LIKENESS:
            continue
        verdict = _verdict_for(sentence, patterns, knowledge, matcher)
        fitting = (verdict is Verdict.REPORT) == wanted_report if situation.verdict is not Verdict.INFO else True
        # A rule's sentence words a verdict; what the policy says of itself (whom it covers, what counts) need not.
        worded = verdict is not None and situation.verdict is not Verdict.INFO
        total = cover + LIKENESS_WEIGHT * like[index] + (0.3 if fitting and worded else 0.0)
        if best is None or total > best[0]:
            best = (total, cover, sentence, verdict)
        if cover >= FULL_COVER and fitting:
            sure.append((total, sentence, verdict))
    if best is None:
        return DerivedRule(situation.situation_id, None, None, "none")
    total, cover, sentence, verdict = best
    citation = Citation(section=sentence.clause.section, quote=sentence.text, clause_id=sentence.clause.clause_id)
    if situation.verdict in (Verdict.INFO, Verdict.REPORT):
        # What kind of question it is does not depend on the school: the policy says whom to tell, or what it says.
        return DerivedRule(situation.situation_id, situation.verdict, citation, "high" if cover >= SURE_COVER else "medium", total)
    # A yes is left to the headteacher when it would allow what schools' policies restrict (this policy may
    # well allow it, but a wrong yes is the one answer a school cannot take back), or when the sentence only
    # half names the case; so is a sentence whose wording permits, forbids or asks nothing.
    permitting = _permitting_part(sentence, patterns, knowledge, matcher)
    # "…may message colleagues at weekends, but should not expect a reply unless on the same rota": the
    # condition of what staff should not expect is no limit of the permission.
    expectation_only = permitting != sentence.text and all(
        _only_an_expectation(part) for part in parts_of(sentence.text) if part != permitting)
    limits, lifts, every_condition_read = _limits(replace(sentence, text=permitting) if expectation_only else sentence,
                                                  knowledge, matcher)
    # "…must report it to the DSL. Staff may then block the account.": the sentence before speaks for it.
    reports = imposes_a_report(sentence.text) or imposes_a_report(sentence.lead_in)
    if limits and every_condition_read and cover >= SURE_COVER and verdict in LIMITED_VERDICTS:
        # "You may use your phone only in the staff room at lunchtime": at lunch in the staff room, a yes;
        # elsewhere a no; a question that does not say is the headteacher's.
        return DerivedRule(situation.situation_id, Verdict.ALLOWED, citation, "high", total, limits, lifts, reports)
    if verdict is Verdict.ALLOWED and limits and cover >= SURE_COVER:
        # "Staff who are related to a pupil may…": a yes for some askers only, checked against each question.
        return DerivedRule(situation.situation_id, Verdict.ASK_HEADTEACHER, citation, "high", total, limits, lifts, reports)
    guessed_yes = verdict is Verdict.ALLOWED and (
        cover < SURE_COVER or (situation.verdict in RESTRICTIVE and cover < FULL_COVER)
        # "…other than those they line-manage", "…but never while they are still at school": a yes with a
        # condition of its own is not a plain yes, nor one its clause attaches a duty to ("…must be declared").
        or has_condition(permitting) or bool(_duties(sentence))
        or _rules_out(sentence, patterns, knowledge, matcher)
    )
    if guessed_yes or verdict not in PERMISSIONS:
        return DerivedRule(situation.situation_id, Verdict.ASK_HEADTEACHER, citation, "low", total, limits, lifts, reports)
    if verdict is Verdict.ASK_HEADTEACHER:
        return DerivedRule(situation.situation_id, verdict, citation, "high" if cover >= SURE_COVER else "medium", total,
                           limits, lifts, reports)
    confidence = "high" if cover >= SURE_COVER else "medium"
    if verdict is Verdict.ALLOWED and permitting != sentence.text:
        # "Union representatives may share union material, but must not name the school": what its duties
        # forbid, the question must rule out ("not naming the school"); naming it is outside the yes.
        forbidden = frozenset().union(*(
            _concepts(matcher, part) & knowledge.restrictions for part in parts_of(sentence.text)
            if part != permitting and not _only_an_expectation(part)))
        lifts = tuple(sorted(restrictions_named(permitting, knowledge, matcher) - forbidden))
        limits = ((WITHOUT, tuple(sorted(forbidden))),) if forbidden else ()
        return DerivedRule(situation.situation_id, verdict, citation, confidence, total, limits, lifts, reports)
    if verdict is Verdict.ALLOWED:
        # "Staff are welcome to share posts from the school's official accounts": the yes answers for the school.
        return DerivedRule(situation.situation_id, verdict, citation, confidence, total,
                           lifts=_named_restrictions(sentence, knowledge, matcher), reports=reports)
    return DerivedRule(situation.situation_id, verdict, citation, confidence, total, reports=reports)


def _limits(sentence: Sentence, knowledge: Knowledge, matcher: ConceptMatcher) -> tuple[Limits, tuple[str, ...], bool]:
    """The limits of a permission or an exception, the restrictions it answers for, and whether every
    condition it sets is one of those limits (its clause's duties included: "…is permitted. The relationship
    must be declared to the headteacher.")."""
    if not grants_within_limits(sentence.text):
        return (), (), False
    # A permission's limits are all it names ("may … only in the staffroom, once declared"); a prohibition's
    # way through is only what follows "unless", "except"… ("must not use phones in classrooms, except in an
    # emergency": the classroom is where the no holds, not a way out of it).
    # A permission's own exceptions ("…except when you are on duty") are where it does not hold: no limits.
    condition = conditions_of_what_it_does_not_prevent(sentence.text)
    if forbids(sentence.text):
        limited, leaves_out = exception_part(sentence.text), False
    elif condition is not None:
        limited, leaves_out = condition, False
    else:
        limited, leaves_out = permitted_part(sentence.text)
    if len(limited) > MAX_LIMITED_CHARS:
        # Longer than any one rule: bullets a PDF ran together ("Staff may: … Staff must not: …").
        return (), (), False
    # "When you are not responsible for children" allows no time with children: a negated value is no limit.
    concepts_of = lambda text: matcher.read(text).concepts  # noqa: E731
    ruled_out_of = lambda text: matcher.read(text).ruled_out  # noqa: E731
    dimensions = knowledge.limit_dimensions
    limits = dimensions.of_sentence(limited, concepts_of, ruled_out_of)
    # "…at any time, except when you are on a timetabled duty": what it leaves out, the question must rule out.
    left_out = dimensions.left_out(sentence.text[len(limited):], concepts_of) if leaves_out else ()
    limits = dimensions.merged(limits, left_out) if left_out else limits
    if not limits:
        return (), (), False
    duties = _duties(sentence)
    # "Any friendship not yet declared must be declared to the headteacher": the duty names whom, negated or not.
    duty_limits = [dimensions.of_duty(duty, lambda text: _concepts(matcher, text)) for duty in duties]
    # "…as long as no pupils can be seen": what a condition names only to rule out is a condition too.
    every_condition_read = (not leaves_out or bool(left_out)) and all(duty_limits) and dimensions.reads_every_condition(
        limited, lambda text: _concepts(matcher, text), ruled_out_of)
    # "…must be declared to the headteacher": the headteacher a question names in meeting that duty is answered for.
    lifts = tuple(sorted({name for text in (sentence.text, *duties) for name in restrictions_named(text, knowledge, matcher)}))
    return dimensions.merged(limits, *duty_limits), lifts, every_condition_read


def _duties(sentence: Sentence) -> list[str]:
    """The other sentences of its clause that ask for someone's agreement ("The relationship must be declared
    to the headteacher"): conditions the policy attaches to the sentence's rule."""
    # "Once declared, staff are free to…" grants, whatever its condition asks: a permission of its own.
    return [
        part for part in SENTENCE_END.split(sentence.clause.text)
        if part.strip() and part.strip() != sentence.text and decided_by(part) is Verdict.ASK_HEADTEACHER
        and not grants_within_limits(part)
    ]


def _named_restrictions(sentence: Sentence, knowledge: Knowledge, matcher: ConceptMatcher) -> tuple[str, ...]:
    """The restrictions a sentence names, and so answers for; not what it names only to rule out ("when no
    pupils are present", "provided no other pupil can be seen")."""
    return tuple(sorted(restrictions_named(sentence.text, knowledge, matcher)))


def _rules_out(sentence: Sentence, patterns, knowledge: Knowledge, matcher: ConceptMatcher) -> bool:
    """"You may use a staff group for reminders that contain no pupil or parent information" names parents
    only to rule them out: it is no yes for the case of joining a parents' group."""
    wanted = {name for pattern in patterns for name in pattern} & knowledge.restrictions
    said = matcher.read(sentence.text).concepts
    return bool(wanted & (_concepts(matcher, sentence.text) - said))


def restrictions_named(text: str, knowledge: Knowledge, matcher: ConceptMatcher) -> frozenset[str]:
    return matcher.read(text).concepts & knowledge.restrictions


def _parts_naming(sentence: Sentence, patterns, knowledge: Knowledge, matcher: ConceptMatcher) -> tuple[list[str], list[str]]:
    """The sentence's parts ("may hold views, but must not…" has two), and those naming the situation."""
    parts = parts_of(sentence.text)
    if len(parts) == 1:
        return parts, parts
    wanted = {name for pattern in patterns for name in pattern if knowledge.concepts[name].weight >= 1}
    named = [part for part in parts if wanted & _concepts(matcher, part)]
    # "Staff may message colleagues at weekends, but should not expect a reply": a part saying
    # what they should not expect says nothing about doing it.
    about_the_act = [part for part in named if not _only_an_expectation(part)]
    return parts, about_the_act or named


def _only_an_expectation(part: str) -> bool:
    duty = OWN_DUTY.match(part)
    return duty is not None and duty.group().split()[-1].lower() in EXPECTATIONS


def _permitting_part(sentence: Sentence, patterns, knowledge: Knowledge, matcher: ConceptMatcher) -> str:
    """The part of the sentence that names the situation, when each of its other parts is a duty about
    another act ("Staff may belong to parents' groups as parents, but should not share what they know
    through their role"); otherwise the whole sentence ("…, but never while they are still at school")."""
    parts, named = _parts_naming(sentence, patterns, knowledge, matcher)
    if len(parts) == 1 or len(named) != 1 or not all(OWN_DUTY.match(part) for part in parts if part is not named[0]):
        return sentence.text
    return named[0]


def _verdict_for(sentence: Sentence, patterns, knowledge: Knowledge, matcher: ConceptMatcher) -> Verdict | None:
    """The wording of the part of the sentence that names the situation ("may hold views, but must not…")."""
    parts, named = _parts_naming(sentence, patterns, knowledge, matcher)
    if len(parts) == 1:
        return decided_by(sentence.text, lead_in=sentence.lead_in)
    verdicts = [decided_by(part, lead_in=sentence.lead_in) for part in named or parts]
    strictness = [Verdict.NOT_ALLOWED, Verdict.ASK_HEADTEACHER, Verdict.REPORT, Verdict.ALLOWED]
    return next((v for v in strictness if v in verdicts), None)


def _concept_weights(knowledge: Knowledge, sentences) -> dict[str, float]:
    """A concept's weight in the vocabulary times how rare it is among the policy's sentences: "pupils"
    in nearly every sentence tells less about which one decides a case than "references" does."""
    frequency = Counter(name for sentence in sentences for name in sentence.concepts)
    total = max(1, len(sentences))
    return {
        name: concept.weight * math.log(1 + total / (1 + frequency[name])) for name, concept in knowledge.concepts.items()
    }


def _cover(pattern: list[str], sentence: Sentence, weights: dict[str, float], knowledge: Knowledge, *,
           about_the_policy: bool = False) -> float:
    """How much of the pattern the sentence names: its own words fully, its section's heading by half.
    A sentence naming only the pattern's lightest concepts ("post", "social media") names none of it. What
    the policy says of itself (what counts as social media, whom it covers) is said under a heading that
    names it ("Definitions", "Who this policy applies to"): there the heading counts in full."""
    heading_share = 1.0 if about_the_policy else 0.5
    named_by = sentence.concepts | sentence.heading_concepts if about_the_policy else sentence.concepts
    if not any(knowledge.concepts[name].weight >= 1 and name in named_by for name in pattern):
        return 0.0
    whole = sum(weights[name] for name in pattern)
    named = sum(
        weights[name] if name in sentence.concepts else weights[name] * heading_share if name in sentence.heading_concepts else 0.0
        for name in pattern
    )
    return named / whole if whole else 0.0


class Likeness:
    """How much a sentence has of the words another policy uses for the same rule."""

    def __init__(self, sentences):
        self._docs = [s.words for s in sentences]
        frequency = Counter(term for doc in self._docs for term in doc)
        total = len(self._docs)
        self._idf = {term: math.log(1 + (total - n + 0.5) / (n + 0.5)) for term, n in frequency.items()}

    def scores(self, text: str) -> list[float]:
        """For each sentence, the share of the example's distinctive words it has (weighted by rarity):
        words the policy never uses count against every sentence."""
        query = [t for t in dict.fromkeys(tokens(text)) if t not in STOPWORDS]
        unseen = math.log(1 + (len(self._docs) + 0.5) / 0.5)
        whole = sum(self._idf.get(term, unseen) for term in query)
        if not whole:
            return [0.0] * len(self._docs)
        return [sum(self._idf[term] for term in query if term in doc) / whole for doc in self._docs]


def general_permission(knowledge: Knowledge, sentences: list[Sentence]) -> Sentence | None:
    """The sentence in which the policy lets staff use social media in their own lives ("Staff may use
    social media in their personal lives", "It is not intended to stop staff enjoying social media"): the
    plainest permission about social media that names nothing the policy restricts."""
    # Staff and the school are in any such sentence; pupils, families or confidential matters are not.
    restricted = knowledge.restrictions - {"colleague", knowledge.school_concept}
    candidates = [
        sentence for sentence in sentences
        if SOCIAL_MEDIA.search(sentence.text) and not sentence.concepts & restricted
        and decided_by(sentence.text, lead_in=sentence.lead_in) is Verdict.ALLOWED
    ]
    return min(candidates, key=lambda sentence: len(sentence.concepts), default=None)
