"""Which concepts a question mentions, tolerant of typos and aware of simple negation ("no pupils in it")."""

from __future__ import annotations

from dataclasses import dataclass

from policy_kb.knowledge import Concept, Knowledge, Situation
from policy_kb.text import fold, tokens, within_distance, WORD

NEGATORS = {"no", "not", "without", "never", "none", "nobody", "dont", "doesnt", "isnt", "arent", "wont", "cant", "didnt", "nor", "neither"}
NEGATION_REACH = 3
MAX_REMEMBERED_CORRECTIONS = 20000  # how many words before a term a negator still applies to it
# Words that look like typos of concept terms but are ordinary English.
# Ordinary English words a typo check must leave alone, although they are one letter from a term.
NOT_TYPOS = {"poster", "posted", "paste", "pasted", "photon", "staffs", "state", "stuff", "share", "shame", "shape", "sharp", "think", "thank", "friend", "fiend", "fried", "frank", "pupal", "paper", "parent", "patent", "tablet", "table", "whilst", "while", "white", "write", "wrote", "where", "there", "their", "these", "those", "other", "after", "again", "about", "since", "still", "would", "could", "should", "chart", "chair", "cheat", "check", "class", "clash", "glass", "grass", "lunch", "bunch", "munch", "break", "bread", "bream", "brake", "leave", "lease", "least", "media", "medal", "medic"}
# Text-speak staff type on phones, as the words it stands for.
TEXT_SPEAK = {"cn": "can", "cud": "could", "u": "you", "ur": "your", "r": "are", "b": "be", "2": "to", "wiv": "with", "wit": "with", "pls": "please", "plz": "please", "ppl": "people", "pic": "pic", "msg": "message", "msgs": "messages", "txt": "text", "abt": "about", "coz": "because", "cos": "because", "bc": "because", "tho": "though", "gonna": "going to", "wanna": "want to", "ok2": "ok to", "okay2": "okay to", "sch": "school", "skool": "school", "yr": "year", "yrs": "years", "kiddos": "kids", "kiddies": "kids"}


@dataclass(frozen=True)
class Reading:
    """What the advisor understood of a question."""

    words: tuple[str, ...]  # stemmed tokens after typo correction
    concepts: frozenset[str]
    negated: frozenset[str]


class ConceptMatcher:
    def __init__(self, knowledge: Knowledge):
        self.concepts = knowledge.concepts
        self._single: dict[str, list[str]] = {}
        self._phrases: dict[str, list[tuple[tuple[str, ...], bool, str]]] = {}  # by first word
        self._prefixes: list[tuple[str, str]] = []
        for concept in self.concepts.values():
            for term in concept.terms:
                if term.prefix and len(term.words) == 1:
                    self._prefixes.append((term.words[0], concept.name))
                elif len(term.words) == 1:
                    self._single.setdefault(term.words[0], []).append(concept.name)
                else:
                    self._phrases.setdefault(term.words[0], []).append((term.words, term.prefix, concept.name))
        # Misspellings are compared with terms as written ("childrn" with "children").
        self._spellings: dict[str, list[tuple[str, str]]] = {}
        for concept in self.concepts.values():
            for term in concept.terms:
                if len(term.spelling) >= 4:
                    self._spellings.setdefault(term.spelling[0], []).append((term.spelling, term.words[0]))
        self._corrections: dict[str, str] = {}  # misspelling -> term, learnt as questions arrive
        self._known = set(self._single) | {w for phrases in self._phrases.values() for words, _, _ in phrases for w in words}

    def read(self, question: str) -> Reading:
        expanded = " ".join(TEXT_SPEAK.get(word, word) for word in fold(question).replace("'", "").split())
        raw_words = WORD.findall(expanded)
        words = [self._correct(stemmed, raw) for stemmed, raw in zip(tokens(expanded), raw_words)]
        found: dict[str, bool] = {}  # concept -> seen at least once un-negated

        def mark(concept: str, position: int) -> None:
            negated = any(w in NEGATORS for w in raw_words[max(0, position - NEGATION_REACH) : position])
            found[concept] = found.get(concept, False) or not negated

        for position, word in enumerate(words):
            for concept in self._single.get(word, ()):
                mark(concept, position)
            for prefix, concept in self._prefixes:
                if raw_words[position].startswith(prefix) or word.startswith(prefix):
                    mark(concept, position)
            for phrase, prefix, concept in self._phrases.get(word, ()):
                end = position + len(phrase)
                if end > len(words):
                    continue
                if tuple(words[position + 1 : end - 1]) == phrase[1:-1] and (
                    words[end - 1] == phrase[-1] or (prefix and raw_words[end - 1].startswith(phrase[-1]))
                ):
                    mark(concept, position)
        present = frozenset(name for name, positive in found.items() if positive)
        negated = frozenset(name for name, positive in found.items() if not positive)
        return Reading(tuple(words), present, negated)

    def _correct(self, word: str, raw: str) -> str:
        if word in self._known or raw in NOT_TYPOS or len(raw) < 5 or not raw.isalpha():
            return word
        correction = self._corrections.get(raw)
        if correction is None:
            if len(self._corrections) >= MAX_REMEMBERED_CORRECTIONS:
                self._corrections.clear()  # a long-running bot must not grow without bound
            correction = self._corrections[raw] = self._closest_term(raw) or word
        return correction

    def _closest_term(self, raw: str) -> str | None:
        limit = 1 if len(raw) < 9 else 2
        for spelling, stemmed in self._spellings.get(raw[0], ()):
            if spelling[:2] == raw[:2] and within_distance(raw, spelling, limit):
                return stemmed
        return None


def score(situation: Situation, reading: Reading, concepts: dict[str, Concept]) -> float:
    """The weight of the best pattern of the situation that the question satisfies, or 0."""
    if any(name in reading.concepts for name in situation.unless):
        return 0.0
    best = 0.0
    for pattern in situation.patterns:
        if all(name in reading.concepts for name in pattern):
            best = max(best, sum(concepts[name].weight for name in pattern))
    return best + situation.priority if best else 0.0
