"""Which rule answers each situation for the loaded policy: the school's own rules file first (written by
`policybot kb init`, edited by the school), then the curated rule where every one of its quotes is in the
loaded policy, then the rule derived from the policy's own text. A rule whose quote the loaded policy does
not contain is never used, so one school's rules cannot reach another school's answers."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Callable
from pathlib import Path

from policy_kb.answer import Citation, Verdict
from policy_kb.derive import (
    DerivedRule, Likeness, Sentence, derive_rules, general_permission, restrictions_named, split_sentences,
)
from policy_kb.document import PolicyDocument
from policy_kb.errors import PolicyLoadError
from policy_kb.knowledge import Knowledge, QuoteIndex, QuoteProblem, Situation, read_toml
from policy_kb.limits import LIMITED_VERDICTS, WITHOUT, Limits, Permission
from policy_kb.matcher import ConceptMatcher
from policy_kb.measures import MEASURED

# Bumped whenever derivation changes what it gives, so an old cache is never read.
DERIVATION_VERSION = "25"
# A fallback or draft finding cites the sentence most like the bundled policy's quote for it, if this alike.
MIN_FALLBACK_LIKENESS = 0.2
# The fallback that answers everyday personal use: found by what it says, a general permission.
GENERAL_PERMISSION = "personal_use_quotes"


@dataclass(frozen=True)
class RulesSummary:
    total: int
    decided: int  # situations the policy's text decides
    left_to_headteacher: int  # situations it does not speak to, or not clearly
    from_school_file: int
    curated: int
    problems: tuple[QuoteProblem, ...] = ()
    # For each situation: where its rule came from ("school file", "curated", "derived") and how sure it is.
    sources: dict[str, str] = field(default_factory=dict)
    confidence: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SchoolRule:
    situation_id: str
    verdict: Verdict
    citation: Citation
    answer: str = ""
    confidence: str = "checked"  # as kb init wrote it; a "low" rule nobody has checked is still a guess
    limits: Limits = ()
    permissions: tuple[Permission, ...] = ()  # the file's [[rules.exceptions]]
    # A yes within limits answers for the restrictions its own sentence names, as a derived one does.
    lifts: tuple[str, ...] = ()


def apply_rules(
    knowledge: Knowledge,
    *,
    derived: tuple[DerivedRule, ...] | None,
    school_rules: dict[str, SchoolRule] | None = None,
) -> tuple[Knowledge, RulesSummary]:
    school_rules = school_rules or {}
    by_id = {rule.situation_id: rule for rule in derived or ()}
    situations = []
    sources: dict[str, str] = {}
    confidence: dict[str, str] = {}
    for situation in knowledge.situations:
        key = situation.situation_id
        school_rule = school_rules.get(key)
        if school_rule is not None:
            situations.append(_from_school_rule(situation, school_rule, knowledge))
            sources[key], confidence[key] = "school file", school_rule.confidence
        elif situation.curated or key not in by_id:
            situations.append(situation)
            sources[key], confidence[key] = "curated", "checked" if situation.curated else "none"
        else:
            rule = by_id[key]
            situations.append(derived_situation(situation, rule, knowledge))
            sources[key], confidence[key] = "derived", rule.confidence
    left = sum(1 for value in confidence.values() if value in {"low", "none"})
    summary = RulesSummary(
        len(situations), len(situations) - left, left, list(sources.values()).count("school file"),
        list(sources.values()).count("curated"), sources=sources, confidence=confidence,
    )
    return replace(knowledge, situations=tuple(situations)), summary


def derived_situation(situation: Situation, rule: DerivedRule, knowledge: Knowledge) -> Situation:
    if rule.verdict is None or rule.citation is None:
        texts = knowledge.derived_texts
        return replace(situation, verdict=Verdict.ASK_HEADTEACHER, answer=texts.get("not_covered_answer", ""),
                       citations=(), next_steps=(texts.get("ask_headteacher_next_step", ""),), curated=False)
    key = "unclear_answer" if rule.confidence == "low" else ""
    ruled = replace(_ruled(situation, rule.verdict, rule.citation, knowledge, answer_key=key), reports=rule.reports,
                    permissions=rule.permissions)
    return replace(ruled, limits=rule.limits, lifts=frozenset(rule.lifts)) if rule.limits or rule.lifts else ruled


def _from_school_rule(situation: Situation, rule: SchoolRule, knowledge: Knowledge) -> Situation:
    ruled = replace(_ruled(situation, rule.verdict, rule.citation, knowledge, answer=rule.answer), permissions=rule.permissions)
    return replace(ruled, limits=rule.limits, lifts=frozenset(rule.lifts)) if rule.limits and rule.verdict in LIMITED_VERDICTS else ruled


def _ruled(situation: Situation, verdict: Verdict, citation: Citation, knowledge: Knowledge, *,
           answer: str = "", answer_key: str = "") -> Situation:
    """The situation answered by a rule of this policy's: its verdict and quote, the answer for that verdict
    naming the section, and none of the bundled policy's exceptions (`lifts`), which are not this policy's."""
    texts = knowledge.derived_texts
    answer = answer or texts.get(answer_key or f"{verdict.value}_answer", "").replace("{section}", citation.section)
    return replace(situation, verdict=verdict, answer=answer, citations=(citation,), lifts=frozenset(),
                   next_steps=(texts.get(f"{verdict.value}_next_step", ""),), curated=False)


def missing_citations(knowledge: Knowledge, sentences: list[Sentence]) -> dict[str, Citation | None]:
    """For each fallback answer and draft finding whose quote the loaded policy lacks ("fallback:KEY",
    "finding:ID"): the sentence most like it in this policy, or None."""
    likeness = Likeness(sentences)

    def nearest(wording: str) -> Citation | None:
        if not wording or not sentences:
            return None
        scores = likeness.scores(wording)
        best = max(range(len(sentences)), key=scores.__getitem__)
        if scores[best] < MIN_FALLBACK_LIKENESS:
            return None
        sentence = sentences[best]
        return Citation(section=sentence.clause.section, quote=sentence.text, clause_id=sentence.clause.clause_id)

    cited = {f"fallback:{key}": nearest(wording) for key, wording in knowledge.fallback_wording.items()
             if not knowledge.fallback_citations.get(key)}
    if f"fallback:{GENERAL_PERMISSION}" in cited:
        sentence = general_permission(knowledge, sentences)
        if sentence is not None:
            cited[f"fallback:{GENERAL_PERMISSION}"] = Citation(section=sentence.clause.section, quote=sentence.text,
                                                                clause_id=sentence.clause.clause_id)
    cited.update({f"finding:{rule.finding_id}": nearest(rule.wording) for rule in knowledge.findings if rule.citation is None})
    return cited


def with_citations(knowledge: Knowledge, cited: dict[str, Citation | None]) -> Knowledge:
    """The knowledge with the missing quotes filled in from `missing_citations`."""
    fallback_citations = dict(knowledge.fallback_citations)
    for key in knowledge.fallback_wording:
        if not fallback_citations.get(key):
            found = cited.get(f"fallback:{key}")
            fallback_citations[key] = (found,) if found else ()
    findings = tuple(
        rule if rule.citation is not None else replace(rule, citation=cited.get(f"finding:{rule.finding_id}"))
        for rule in knowledge.findings
    )
    return replace(knowledge, fallback_citations=fallback_citations, findings=findings)


def rules_for(
    knowledge: Knowledge,
    document: PolicyDocument,
    *,
    cache_dir: Path | None = None,
    fingerprint: Callable[[], str] = lambda: "",
    rules_path: Path | None = None,
) -> tuple[Knowledge, RulesSummary]:
    """The knowledge with every situation's rule chosen for this policy, and how many it decides."""
    school_rules, problems = load_school_rules(rules_path, document, knowledge) if rules_path else ({}, ())
    needs_derivation = any(not s.curated for s in knowledge.situations) or any(
        not knowledge.fallback_citations.get(key) for key in knowledge.fallback_wording
    ) or any(rule.citation is None for rule in knowledge.findings)
    if not needs_derivation:
        chosen, summary = apply_rules(knowledge, derived=None, school_rules=school_rules)
        return chosen, replace(summary, problems=problems)
    derived, cited = _cached(cache_dir, fingerprint(), document, knowledge)
    chosen, summary = apply_rules(with_citations(knowledge, cited), derived=derived, school_rules=school_rules)
    return chosen, replace(summary, problems=problems)


def _cached(cache_dir, fingerprint, document, knowledge) -> tuple[tuple[DerivedRule, ...], dict[str, Citation | None]]:
    """The derived rules and the missing quotes, from the cache when it holds them: a start with a cache
    does not read the policy's sentences at all."""
    path = None
    if cache_dir is not None and fingerprint:
        key = hashlib.sha256(f"{DERIVATION_VERSION}\n{fingerprint}".encode()).hexdigest()[:32]
        path = Path(cache_dir) / f"policy-rules-{key}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return (tuple(_rule_from_json(item) for item in data["rules"]),
                    {name: _citation_from_json(citation) for name, citation in data["cited"].items()})
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass  # no cache yet, or an unreadable one: derive again
    sentences = split_sentences(document, ConceptMatcher(knowledge, school_name=document.school_name))
    rules = derive_rules(document, knowledge, sentences=sentences)
    cited = missing_citations(knowledge, sentences)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(".tmp")
            temporary.write_text(json.dumps({
                "rules": [_rule_to_json(rule) for rule in rules],
                "cited": {name: _citation_to_json(citation) for name, citation in cited.items()},
            }, ensure_ascii=False), encoding="utf-8")
            temporary.replace(path)
        except OSError:
            pass  # a read-only folder costs the next start the derivation again, nothing more
    return rules, cited


def _citation_to_json(citation: Citation | None) -> dict | None:
    return None if citation is None else {"section": citation.section, "quote": citation.quote, "clause_id": citation.clause_id}


def _citation_from_json(item: dict | None) -> Citation | None:
    return Citation(**item) if item else None


def _rule_to_json(rule: DerivedRule) -> dict:
    return {
        "situation": rule.situation_id, "verdict": rule.verdict.value if rule.verdict else None,
        "confidence": rule.confidence, "score": rule.score, "citation": _citation_to_json(rule.citation),
        "limits": _limits_to_json(rule.limits), "lifts": list(rule.lifts),
        "reports": rule.reports,
        "permissions": [{"citation": _citation_to_json(permission.citation), "limits": _limits_to_json(permission.limits),
                         "lifts": list(permission.lifts)} for permission in rule.permissions],
    }


def _limits_to_json(limits: Limits) -> list:
    return [[dimension, list(values)] for dimension, values in limits]


def _limits_from_json(item: list) -> Limits:
    return tuple((str(dimension), tuple(map(str, values))) for dimension, values in item)


def _rule_from_json(item: dict) -> DerivedRule:
    return DerivedRule(
        item["situation"], Verdict(item["verdict"]) if item["verdict"] else None,
        _citation_from_json(item["citation"]), item["confidence"], float(item["score"]),
        _limits_from_json(item["limits"]), tuple(map(str, item["lifts"])), bool(item["reports"]),
        tuple(Permission(_citation_from_json(each["citation"]), _limits_from_json(each["limits"]), tuple(map(str, each["lifts"])))
              for each in item["permissions"]),
    )


def load_school_rules(path: Path, document: PolicyDocument, knowledge: Knowledge) -> tuple[dict[str, SchoolRule], tuple[QuoteProblem, ...]]:
    """The school's edited rules file. A rule whose quote is not in the loaded policy is reported and left
    out; a rule with no verdict or no quote (a situation the policy does not cover) stays derived."""
    data = read_toml(path, what="rules file")
    index = QuoteIndex(document)
    matcher = ConceptMatcher(knowledge, school_name=document.school_name)
    rules: dict[str, SchoolRule] = {}
    problems: list[QuoteProblem] = []
    for spec in data.get("rules", []):
        if not isinstance(spec, dict):
            raise PolicyLoadError(f"rules file does not have the expected layout ([[rules]] tables): {path}")
        situation_id = str(spec.get("situation", "?"))
        verdict_text, quote = spec.get("verdict", ""), spec.get("quote", "")
        if not verdict_text or not quote:
            continue
        try:
            verdict = Verdict(verdict_text)
        except ValueError:
            problems.append(QuoteProblem(situation_id, str(verdict_text), "is not a verdict (allowed, not_allowed, ask_headteacher, report, info)"))
            continue
        citation = index.cite(str(quote))
        if citation is None:
            problems.append(QuoteProblem(situation_id, str(quote), "not found in the policy document"))
            continue
        limits, problem = _school_limits(spec.get("limits"), knowledge)
        if problem:
            problems.append(QuoteProblem(situation_id, str(spec.get("limits")), problem))
            continue
        rules[situation_id] = SchoolRule(
            situation_id, verdict, citation, str(spec.get("answer", "")), str(spec.get("confidence", "checked")) or "checked",
            limits, _school_exceptions(spec.get("exceptions"), situation_id, index, knowledge, matcher, problems),
            tuple(sorted(restrictions_named(citation.quote, knowledge, matcher))) if limits else (),
        )
    return rules, tuple(problems)


def _school_exceptions(specs, situation_id: str, index: QuoteIndex, knowledge: Knowledge, matcher: ConceptMatcher,
                       problems: list) -> tuple[Permission, ...]:
    """A rule's [[rules.exceptions]]: each a quote of the policy and the limits within which it is a yes,
    answering for what its sentence names. One whose quote is not in the policy, or that has no limits, is
    reported and left out; the rule stands."""
    if specs is None:
        return ()
    if not isinstance(specs, list) or not all(isinstance(spec, dict) for spec in specs):
        problems.append(QuoteProblem(situation_id, str(specs), "exceptions must be [[rules.exceptions]] tables with a quote and limits"))
        return ()
    permissions = []
    for spec in specs:
        quote = str(spec.get("quote", ""))
        citation = index.cite(quote) if quote else None
        if citation is None:
            problems.append(QuoteProblem(situation_id, quote, "exception not found in the policy document"))
            continue
        limits, problem = _school_limits(spec.get("limits"), knowledge)
        if problem or not limits:
            problems.append(QuoteProblem(situation_id, str(spec.get("limits")), problem or "an exception needs limits"))
            continue
        permissions.append(Permission(citation, limits, tuple(sorted(restrictions_named(citation.quote, knowledge, matcher)))))
    return tuple(permissions)


def _school_limits(spec, knowledge: Knowledge) -> tuple[Limits, str]:
    """A rule's limits as the rules file gives them ({ place = ["staffroom"] }), or what is wrong with them."""
    if not spec:
        return (), ""
    dimensions = {**knowledge.limit_dimensions.dimensions, WITHOUT: knowledge.limit_dimensions.absent}
    if not isinstance(spec, dict):
        return (), "limits must be a table such as { place = [\"staffroom\"] }"
    limits = []
    for dimension, values in spec.items():
        if dimension in MEASURED:
            # A line drawn at a number: min_age = ["21"] (or 21).
            values = values if isinstance(values, list) else [values]
            if len(values) != 1 or not str(values[0]).isdigit():
                return (), f"limit {dimension!r} takes one whole number, such as [\"21\"]"
            limits.append((dimension, (str(values[0]),)))
            continue
        if dimension not in dimensions:
            return (), f"has no limit called {dimension!r} (known: {', '.join([*dimensions, *MEASURED])})"
        values = [values] if isinstance(values, str) else values
        unknown = [str(value) for value in values if value not in dimensions[dimension]]
        if unknown or not values:
            return (), f"limit {dimension!r} takes {', '.join(sorted(dimensions[dimension]))}, not {', '.join(unknown) or 'nothing'}"
        limits.append((dimension, tuple(sorted(map(str, values)))))
    return tuple(limits), ""
