"""The curated knowledge on top of the policy text, read from a data file a school can edit.

Concepts are the words staff use for a thing ("insta", "pics", "kids", "mums"). Situations say which
concepts together describe a case, the verdict for it, a plain-English reason and the exact policy text
it rests on. Every quote is looked up in the loaded document: a quote the document does not contain is
reported by `policybot kb check` and never cited."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from policy_kb.answer import Citation, Verdict
from policy_kb.document import PolicyDocument
from policy_kb.errors import PolicyLoadError
from policy_kb.json_cache import cached
from policy_kb.limits import LimitDimensions, Limits, Permission, read_dimensions
from policy_kb.text import fold, tokens

BUNDLED_KNOWLEDGE = Path(__file__).parent / "data" / "knowledge.toml"
SCHOOL_PLACEHOLDER = "{school}"


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]  # stemmed tokens; several for a phrase
    prefix: bool = False  # the last word may continue ("insta*" matches "instagram", "instapost")
    spelling: str = ""  # a one-word term as written, to recognise misspellings of it


@dataclass(frozen=True)
class Concept:
    name: str
    terms: tuple[Term, ...]
    weight: float = 1.0
    # Not counted where its words are part of a longer term of another concept: of any other concept
    # (yields = true) or of the ones named (yields_to = [...]).
    yields: bool = False
    yields_to: frozenset[str] = frozenset()
    negation: bool = True  # False: "not"/"no" before it does not cancel it ("aren't allowed social media?")
    patterns: tuple[re.Pattern, ...] = ()  # regular expressions on the question as typed ("little Alfie")

    def gives_way_to(self, other: str) -> bool:
        return other != self.name and (self.yields or other in self.yields_to)


@dataclass(frozen=True)
class Situation:
    situation_id: str
    verdict: Verdict
    patterns: tuple[tuple[str, ...], ...]  # any one pattern matches when all its concepts are present
    unless: tuple[str, ...]
    priority: float
    answer: str
    citations: tuple[Citation, ...]
    next_steps: tuple[str, ...]
    # For an "allowed" situation: the restrictions it is the policy's own exception to, besides the
    # concepts of the pattern it matched ("friends with colleagues" lifts the colleague restriction).
    lifts: frozenset[str] = frozenset()
    # How the bundled school's policy words this rule, and a question staff ask about it: what a rule
    # derived from another school's policy looks for, and what the review sheet shows.
    wording: str = ""
    example: str = ""
    # Every quote was found in the loaded policy: the curated verdict and answer hold for it.
    curated: bool = True
    # A rule read from a permission with limits ("only in the staffroom"): the values it allows on each
    # dimension, checked against the question (policy_kb.limits).
    limits: Limits = ()
    # A rule read from a sentence that also says whom to tell when it happens ("…and report it to the DSL").
    reports: bool = False
    # The policy's other sentences that allow this within limits, tried when the rule gives no yes.
    permissions: tuple[Permission, ...] = ()


@dataclass(frozen=True)
class FindingRule:
    """What to look for in a draft: concepts the matcher reads in it, or patterns on its text."""

    finding_id: str
    label: str
    verdict: Verdict  # not_allowed or ask_headteacher: what the finding alone makes of the draft
    concepts: frozenset[str]
    patterns: tuple[re.Pattern, ...]
    citation: Citation | None
    wording: str = ""


@dataclass(frozen=True)
class QuoteProblem:
    situation_id: str
    quote: str
    reason: str


@dataclass(frozen=True)
class Knowledge:
    concepts: dict[str, Concept]
    situations: tuple[Situation, ...]
    problems: tuple[QuoteProblem, ...]
    fallback: dict[str, str]  # texts and quotes for answers no situation covers
    fallback_citations: dict[str, tuple[Citation, ...]]
    domain: frozenset[str]  # concepts that make a question about social media at all
    risk: frozenset[str]  # concepts that make a social media question more than everyday personal use
    # What the policy restricts (pupils, families, colleagues, the school, confidential information...):
    # a "yes" must account for every one of these in the question (see Advisor.ask).
    restrictions: frozenset[str]
    # Everyday personal life (holidays, one's own children): a question about it alone is a sure yes.
    everyday: frozenset[str]
    asking: str  # the concept of asking for permission ("can I…")
    third_party: str  # the concept of someone else doing something ("a parent has…")
    policy_question: str  # the concept of asking what the rules are ("what does the policy say about…")
    what_to_do: str  # the concept of asking what to do about something that happened
    school_concept: str  # the concept the school's own name counts as
    # Words like "policy" and "rules": about social media only with something else that is.
    policy_word: str = ""
    # Someone else's act aimed at the asker ("a dad keeps messaging me"): the policy's part for staff affected.
    affected: str = ""
    # A message that opens with a job alone ("Site manager.", "Supply teacher here -") introduces the asker:
    # the job's words (of these concepts) are the asker's own role (this concept), not a colleague.
    job_concepts: frozenset[str] = frozenset()
    introduction: str = ""
    findings: tuple[FindingRule, ...] = ()
    fallback_wording: dict[str, str] = field(default_factory=dict)  # the quotes of each fallback, as written
    derived_texts: dict[str, str] = field(default_factory=dict)  # answers for rules read from the policy itself
    limit_dimensions: LimitDimensions = field(default_factory=lambda: LimitDimensions({}, {}))
    # Something has happened ("what do I do now?", a post regretted, a request declined): where the policy's
    # own sentence for the case says whom to tell, that is the answer.
    happened: frozenset[str] = frozenset()
    # A child at risk: a report the cases give for it is not for the verdict model to doubt.
    urgent: frozenset[str] = frozenset()
    # A named one is a kind of the general ("Mrs Khan" is a colleague): a case answering colleagues answers her.
    kind_of: dict[str, str] = field(default_factory=dict)
    # Words of the headings of a policy's own part on whom to tell ("Reporting concerns").
    reporting_headings: tuple[str, ...] = ()


def read_toml(path: Path, *, what: str, cache_dir: Path | None = None) -> dict:
    """A TOML file the school edits, or one clear line saying what is wrong with it. With a cache folder,
    a file read before is not parsed again (the knowledge file is long, and Python's TOML reader slow)."""
    try:
        source = Path(path).read_bytes()
        return cached(cache_dir, "toml", source, lambda: tomllib.loads(source.decode("utf-8")))
    except FileNotFoundError:
        raise PolicyLoadError(f"{what} not found: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise PolicyLoadError(f"{what} cannot be read ({error.__class__.__name__}): {path}") from None
    except tomllib.TOMLDecodeError as error:
        raise PolicyLoadError(f"{what} is not valid TOML ({error}): {path}") from None


def load_knowledge(path: Path, document: PolicyDocument, *, cache_dir: Path | None = None) -> Knowledge:
    data = read_toml(path, what="knowledge file", cache_dir=cache_dir)
    try:
        return _build_knowledge(data, document, path)
    except (AttributeError, TypeError, KeyError) as error:
        # A table where a list belongs, a number where text belongs: the file's shape is wrong.
        raise PolicyLoadError(
            f"knowledge file does not have the expected layout ({error.__class__.__name__}: {error}): {path}"
        ) from None


def _build_knowledge(data: dict, document: PolicyDocument, path: Path) -> Knowledge:
    try:
        concepts = {name: _concept(name, spec) for name, spec in data.get("concepts", {}).items()}
    except ValueError as error:
        raise PolicyLoadError(f"knowledge file: {error}: {path}") from None
    index = QuoteIndex(document)
    problems: list[QuoteProblem] = []
    situations = []
    for spec in data.get("situations", []):
        situation_id = spec.get("id", "?")
        patterns = tuple(tuple(pattern.split()) for pattern in spec.get("match", []))
        unknown = {name for pattern in patterns for name in pattern} | set(spec.get("unless", [])) | set(spec.get("lifts", []))
        unknown -= set(concepts)
        if unknown:
            raise PolicyLoadError(f"knowledge file names unknown concepts {sorted(unknown)} in situation {situation_id!r}: {path}")
        try:
            verdict = Verdict(spec["verdict"])
        except (KeyError, ValueError):
            raise PolicyLoadError(f"knowledge file has a missing or unknown verdict in situation {situation_id!r}: {path}") from None
        missing_before = len(problems)
        citations = index.cite_all(spec.get("quotes", []), situation_id, problems)
        quotes = spec.get("quotes", [])
        situations.append(
            Situation(
                situation_id=situation_id,
                verdict=verdict,
                patterns=patterns,
                unless=tuple(spec.get("unless", [])),
                priority=float(spec.get("priority", 0.0)),
                answer=_fill(spec.get("answer", ""), document).strip(),
                citations=citations,
                next_steps=tuple(_fill(step, document) for step in spec.get("next_steps", [])),
                lifts=frozenset(spec.get("lifts", [])),
                wording=" ".join([*quotes, spec.get("answer", ""), spec.get("example", "")]),
                example=spec.get("example", ""),
                curated=bool(quotes) and len(problems) == missing_before,
            )
        )
    fallback = {key: _fill(value, document) for key, value in data.get("fallback", {}).items() if isinstance(value, str)}
    fallback_citations = {
        key: index.cite_all(value, f"fallback.{key}", problems)
        for key, value in data.get("fallback", {}).items()
        if isinstance(value, list)
    }
    for concept in concepts.values():
        if concept.yields_to - set(concepts):
            raise PolicyLoadError(
                f"knowledge file names unknown concepts {sorted(concept.yields_to - set(concepts))} in concept {concept.name!r}: {path}"
            )
    scope = data.get("scope", {})
    domain = frozenset(scope.get("domain_concepts", "").split())
    risk = frozenset(scope.get("risk_concepts", "").split())
    restrictions = frozenset(scope.get("restriction_concepts", "").split())
    everyday = frozenset(scope.get("everyday_concepts", "").split())
    happened = frozenset(scope.get("happened_concepts", "").split())
    urgent = frozenset(scope.get("urgent_concepts", "").split())
    jobs = frozenset(scope.get("job_concepts", "").split())
    kind_of = {str(k): str(v) for k, v in (scope.get("kind_of") or {}).items()}
    roles = {
        key: scope.get(f"{key}_concept", "")
        for key in ("asking", "third_party", "policy_question", "what_to_do", "school", "policy_word", "affected", "introduction")
    }
    unknown = (domain | risk | restrictions | everyday | happened | urgent | jobs | set(roles.values()) | set(kind_of) | set(kind_of.values())) - set(concepts) - {""}
    if unknown:
        raise PolicyLoadError(f"knowledge file names unknown concepts {sorted(unknown)} in [scope]: {path}")
    findings = tuple(_finding_rule(spec, concepts, index, problems, path) for spec in data.get("findings", []))
    limit_dimensions, unknown = read_dimensions(data.get("limits", {}), set(concepts), absent=restrictions)
    if unknown:
        raise PolicyLoadError(f"knowledge file names unknown concepts {sorted(unknown)} in [limits]: {path}")
    return Knowledge(
        concepts, tuple(situations), tuple(problems), fallback, fallback_citations, domain, risk, restrictions, everyday,
        asking=roles["asking"], third_party=roles["third_party"], policy_question=roles["policy_question"],
        what_to_do=roles["what_to_do"], school_concept=roles["school"], findings=findings, policy_word=roles["policy_word"],
        affected=roles["affected"], job_concepts=jobs, introduction=roles["introduction"],
        derived_texts={key: _fill(value, document) for key, value in data.get("derived", {}).items() if isinstance(value, str)},
        fallback_wording={
            key: " ".join(value) for key, value in data.get("fallback", {}).items() if isinstance(value, list)
        },
        limit_dimensions=limit_dimensions, happened=happened, urgent=urgent, kind_of=kind_of,
        reporting_headings=tuple(_normalise(words) for words in scope.get("reporting_headings", [])),
    )


def _finding_rule(spec: dict, concepts: dict, index: "QuoteIndex", problems: list, path: Path) -> FindingRule:
    finding_id = spec.get("id", "?")
    unknown = set(spec.get("concepts", [])) - set(concepts)
    if unknown:
        raise PolicyLoadError(f"knowledge file names unknown concepts {sorted(unknown)} in finding {finding_id!r}: {path}")
    try:
        patterns = tuple(re.compile(pattern) for pattern in spec.get("patterns", []))
        verdict = Verdict(spec.get("verdict", "ask_headteacher"))
    except (re.error, ValueError) as error:
        raise PolicyLoadError(f"knowledge file: finding {finding_id!r}: {error}: {path}") from None
    cited = index.cite_all([spec["quote"]] if spec.get("quote") else [], f"finding.{finding_id}", problems)
    return FindingRule(finding_id, spec.get("label", finding_id), verdict, frozenset(spec.get("concepts", [])), patterns,
                       cited[0] if cited else None, spec.get("quote", ""))


def _fill(text: str, document: PolicyDocument) -> str:
    return text.replace(SCHOOL_PLACEHOLDER, document.school_name or "the school")


def _concept(name: str, spec) -> Concept:
    if isinstance(spec, list):
        spec = {"terms": spec}
    terms_spec = spec.get("terms", [])
    terms = []
    for raw in terms_spec:
        prefix = raw.endswith("*")
        words = tuple(tokens(raw.rstrip("*")))
        if prefix and words:
            # The prefix is matched against folded words, so keep the last word unstemmed.
            words = words[:-1] + (fold(raw.rstrip("*")).split()[-1],)
        if words:
            spelling = fold(raw.rstrip("*")) if len(words) == 1 and not prefix else ""
            terms.append(Term(words, prefix, spelling))
    try:
        patterns = tuple(re.compile(pattern) for pattern in spec.get("patterns", ()))
    except re.error as error:
        raise ValueError(f"concept {name!r} has a pattern that is not a valid regular expression ({error})") from None
    return Concept(
        name, tuple(terms), float(spec.get("weight", 1.0)), bool(spec.get("yields", False)),
        frozenset(spec.get("yields_to", ())), bool(spec.get("negation", True)), patterns,
    )


class QuoteIndex:
    """Finds a quote in the document, tolerant of curly quotes and spacing, and returns the document's
    own text for it, so a citation is always real text from the loaded policy."""

    def __init__(self, document: PolicyDocument):
        self.document = document
        self._clauses = [(clause, _normalise(clause.text)) for clause in document.clauses]
        self._positions: dict[int, list[int]] = {}  # by clause index, found once: a clause is quoted many times

    def cite(self, quote: str) -> Citation | None:
        wanted = _normalise(_fill(quote, self.document))
        if not wanted:
            return None
        for number, (clause, normalised) in enumerate(self._clauses):
            start = normalised.find(wanted)
            if start >= 0:
                positions = self._positions.get(number)
                if positions is None:
                    positions = self._positions[number] = _kept_positions(clause.text)
                exact = clause.text[positions[start] : positions[start + len(wanted) - 1] + 1]
                return Citation(section=clause.section, quote=exact, clause_id=clause.clause_id)
        return None

    def cite_all(self, quotes: list[str], owner: str, problems: list[QuoteProblem]) -> tuple[Citation, ...]:
        citations = []
        for quote in quotes:
            citation = self.cite(quote)
            if citation is None:
                problems.append(QuoteProblem(owner, quote, "not found in the policy document"))
            elif citation not in citations:
                citations.append(citation)
        return tuple(citations)


_PLAIN = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-", "\u00a0": " "})
_SPACES = re.compile(r"\s+")


def _normalise(text: str) -> str:
    """Lower case, plain quotes and dashes, runs of white space folded to one space."""
    return _SPACES.sub(" ", text.translate(_PLAIN).lower()).strip()


def _kept_positions(text: str) -> list[int]:
    """For each character of `_normalise(text)`, its position in `text`."""
    positions: list[int] = []
    previous_space = True  # leading white space is dropped
    for position, char in enumerate(text):
        if char.isspace() or char == "\u00a0":
            if not previous_space:
                positions.append(position)
            previous_space = True
        elif char.isascii():
            positions.append(position)
            previous_space = False
        else:
            # Lower-casing can turn one character into two ("İ" -> "i̇"): each keeps its source position.
            positions.extend([position] * len(char.translate(_PLAIN).lower()))
            previous_space = False
    return positions
