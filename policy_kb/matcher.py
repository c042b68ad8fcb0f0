"""Which concepts a question mentions, tolerant of typos and aware of simple negation ("no pupils in it")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from policy_kb.knowledge import Concept, Knowledge, Situation
from policy_kb.measures import measures_in
from policy_kb.people import RoleWords
from policy_kb.text import fold, tokens, within_distance, WORD

NEGATORS = {"no", "not", "without", "never", "none", "nobody", "nothing", "dont", "doesnt", "isnt", "arent", "wont", "wouldnt", "didnt", "hasnt", "havent", "nor", "neither", "noone", "nowhere"}
NOT_NEGATING_NEXT = {"know", "think", "sure", "mind", "idea"}
NEGATION_REACH = 6  # how many words before a term a negator still applies to it
# "nothing about pupils or the school": a negation carries over "or" and "nor" this far.
LISTED_NEGATION_REACH = 8
MIN_TYPO_LENGTH = 6  # shorter words are too often other real words ("fixed" is not "fired")
MAX_REMEMBERED_CORRECTIONS = 20000
ENGLISH_WORDS = Path(__file__).parent / "data" / "english_words.txt"
# After a school's name, these make it the school rather than the place.
SCHOOL_KIND_WORDS = {"school", "primary", "academy", "infant", "infants", "junior", "juniors", "nursery", "federation", "ce", "c",
                     "prep", "preparatory", "grammar", "high"}
# "I work at Hartwell": a shortened name after these words is the school, whatever follows it.
WORKPLACE_WORDS = {"work", "works", "working", "worked", "teach", "teaches", "teaching", "taught", "job"}
# A school's name shortened to its first words is still its name before a school word ("Thornby Primary"),
# when that first word is this long: "St Primary" is nothing.
MIN_SHORT_NAME = 4
# Words that join a school's name and say nothing of it: "Church of England", "C of E".
NAME_LINKS = {"of", "the", "and", "c", "e", "ce", "cofe", "ofe"}
# Words of a school's kind or status, not its own name: "Church of England Voluntary Controlled Junior School".
GENERIC_SCHOOL_WORDS = {"school", "primary", "community", "academy", "college", "junior", "infant", "infants", "church", "england", "catholic", "saint", "secondary", "nursery", "federation", "trust", "county", "state", "voluntary", "controlled", "aided", "vc", "va", "foundation", "preparatory", "prep", "grammar", "independent"}
# Ordinary English words a typo check must leave alone, although they are one letter from a term.
NOT_TYPOS = {"poster", "posted", "paste", "pasted", "photon", "staffs", "state", "stuff", "share", "shame", "shape", "sharp", "think", "thank", "friend", "fiend", "fried", "frank", "pupal", "paper", "parent", "patent", "tablet", "table", "whilst", "while", "white", "write", "wrote", "where", "there", "their", "these", "those", "other", "after", "again", "about", "since", "still", "would", "could", "should", "chart", "chair", "cheat", "check", "class", "clash", "glass", "grass", "lunch", "bunch", "munch", "break", "bread", "bream", "brake", "leave", "lease", "least", "media", "medal", "medic"}
# Text-speak staff type on phones, as the words it stands for.
EMOJI_WORDS = {"🤡": " mock ", "🙃": " sarcastic ", "👀": " sideeye ", "🙄": " eyeroll ", "😂": " laughing ", "🤣": " laughing ", "😡": " angry ", "🤬": " angry ", "🖕": " insult ", "🍆": " sexual ", "🍑": " sexual ", "🍺": " drunk ", "🍻": " drunk ", "🥴": " drunk "}
CLAUSE_BREAK = re.compile(r"[.!?;:,()\"\u201c\u201d]+|\s['\u2018\u2019]|['\u2018\u2019](?=\s|$)|\s-\s")
CONTRACTION = re.compile(r"\b(i|we|you|she|he|it|they)'ll\b")  # "I'll" is not "ill"
NUMBERED_THINGS = {"year", "yr", "y", "ks", "stage", "class", "room", "group", "set", "p", "grade"}
SUBREDDIT = re.compile(r"(?<![\w/])r/\w+")  # "r/TeachingUK" is Reddit, not the word "are"
# "Supply teacher here.", "Office manager -": at most this many words open a message that introduces its asker.
MAX_INTRODUCTION = 4
POINTING_WORDS = frozenset({"the", "my", "our", "your", "his", "her", "their", "this", "that", "one", "another", "other", "a", "an"})
TEXT_SPEAK = {"cn": "can", "cud": "could", "u": "you", "ur": "your", "r": "are", "b": "be", "2": "to", "wiv": "with", "wit": "with", "pls": "please", "plz": "please", "ppl": "people", "pic": "pic", "msg": "message", "msgs": "messages", "txt": "text", "abt": "about", "coz": "because", "cos": "because", "bc": "because", "tho": "though", "gonna": "going to", "wanna": "want to", "ok2": "ok to", "okay2": "okay to", "sch": "school", "skool": "school", "yr": "year", "yrs": "years", "kiddos": "kids", "kiddies": "kids", "aloud": "allowed", "brake": "break"}


@dataclass(frozen=True)
class Reading:
    """What the advisor understood of a question."""

    words: tuple[str, ...]  # stemmed tokens after typo correction
    concepts: frozenset[str]
    negated: frozenset[str]
    # Negated somewhere, even if named elsewhere too: "a Y4 lesson plan, no pupil data in it" rules out pupil data.
    ruled_out: frozenset[str] = frozenset()
    # Ages and years since leaving, as numbers ("she's 19 now": ("min_age", 19)).
    measures: frozenset[tuple[str, int]] = frozenset()


class ConceptMatcher:
    def __init__(self, knowledge: Knowledge, *, school_name: str = "", people: dict[str, str] | None = None):
        self.concepts = knowledge.concepts
        # "I've emailed Mr Okafor" is "I've emailed the headteacher" where the policy names him so.
        self._roles = RoleWords(people or {})
        self.kind_of = knowledge.kind_of
        self._jobs, self._introduction = knowledge.job_concepts, knowledge.introduction
        # Parts of the school's own name ("alderley") inside a handle like @MissJ_AlderleyEdgePrimary.
        self._school_concept = knowledge.school_concept
        self._school_words = tuple(
            w for w in WORD.findall(fold(school_name)) if len(w) >= 5 and w not in GENERIC_SCHOOL_WORDS
        )
        # The school's name as staff type it: "at Brook Lane", "@ Brook Lane", "Brook Lane Academy"; alone it
        # may be the place ("the Alderley Edge community group").
        # A federation's name joins its schools' ("Brackenridge CE Primary School and Low Fell CE Infant School"):
        # staff name the one they work at.
        self._school_names = tuple(filter(None, (
            tuple(w for w in WORD.findall(fold(name).replace("'", "")) if w not in GENERIC_SCHOOL_WORDS | NAME_LINKS)
            for name in _schools_in(school_name)
        )))
        self._school_handles = [re.compile(r"@\s*" + r"\W*".join(map(re.escape, name)) + r"\b") for name in self._school_names]
        self._single: dict[str, list[str]] = {}
        self._phrases: dict[str, list[tuple[tuple[str, ...], bool, str]]] = {}  # by first word
        self._prefixes: dict[str, list[tuple[str, str]]] = {}  # by first two letters
        for concept in self.concepts.values():
            for term in concept.terms:
                if term.prefix and len(term.words) == 1:
                    prefix = term.words[0]
                    self._prefixes.setdefault(prefix[:2], []).append((prefix, concept.name))
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
        self._patterned = [concept for concept in self.concepts.values() if concept.patterns]
        self._corrections: dict[str, str] = {}  # misspelling -> term, learnt as questions arrive
        self._known = set(self._single) | {w for phrases in self._phrases.values() for words, _, _ in phrases for w in words}

    def read(self, question: str) -> Reading:
        question = self._roles(question)
        for emoji, word in EMOJI_WORDS.items():
            question = question.replace(emoji, word)
        question = SUBREDDIT.sub(" reddit ", question)
        folded = CONTRACTION.sub(r"\1 will", fold(question))
        # A negation reaches no further than its own clause: "naming no names. Fine to post?"
        raw_words: list[str] = []
        stems: list[str] = []
        clause_of: list[int] = []
        for clause, text in enumerate(CLAUSE_BREAK.split(folded)):
            expanded = " ".join(_expand_text_speak(text.replace("'", "").split()))
            clause_words = WORD.findall(expanded)
            raw_words += clause_words
            stems += tokens(expanded)
            clause_of += [clause] * len(clause_words)
        words = [self._correct(stemmed, raw) for stemmed, raw in zip(stems, raw_words)]
        matches: list[tuple[str, int, int]] = []  # concept, first word, one past the last word
        for position, word in enumerate(words):
            for concept in self._single.get(word, ()):
                matches.append((concept, position, position + 1))
            raw = raw_words[position]
            candidates = self._prefixes.get(raw[:2], [])
            if word[:2] != raw[:2]:
                candidates = candidates + self._prefixes.get(word[:2], [])
            for prefix, concept in candidates:
                if raw.startswith(prefix) or word.startswith(prefix):
                    matches.append((concept, position, position + 1))
            for phrase, prefix, concept in self._phrases.get(word, ()):
                end = position + len(phrase)
                if end > len(words):
                    continue
                if tuple(words[position + 1 : end - 1]) == phrase[1:-1] and (
                    words[end - 1] == phrase[-1] or (prefix and raw_words[end - 1].startswith(phrase[-1]))
                ):
                    matches.append((concept, position, end))

        if self._school_names and self._school_concept:
            matches += [(self._school_concept, position, end) for position, end in self._school_name_at(raw_words, folded)]
        if self._school_words and self._school_concept:
            matches += [
                (self._school_concept, position, position + 1)
                for position, raw in enumerate(raw_words)
                # Inside a longer word only (@MissJ_AlderleyEdgePrimary): alone, it may be the village's name.
                if any(part in raw and part != raw for part in self._school_words)
            ]

        matches = self._introduced(matches, raw_words, clause_of)
        given_way = {(concept, start, end) for concept, start, end in matches if self._gives_way(concept, start, end, matches)}
        # A word typed again keeps the sense a longer term gave it: "a pottery class … what I made in class".
        settled = {(concept, raw_words[start]) for concept, start, end in given_way if end == start + 1}
        found: dict[str, bool] = {}  # concept -> seen at least once un-negated
        ruled_out: set[str] = set()
        for concept, start, end in matches:
            if (concept, start, end) in given_way or (end == start + 1 and (concept, raw_words[start]) in settled):
                continue  # "should i" inside "what should i do" is not a request for permission
            negated = self.concepts[concept].negation and _negated(raw_words, clause_of, start)
            found[concept] = found.get(concept, False) or not negated
            if negated:
                ruled_out.add(concept)
        for concept in self._patterned:
            if any(pattern.search(question) for pattern in concept.patterns):
                found[concept.name] = True
        present = frozenset(name for name, positive in found.items() if positive)
        negated = frozenset(name for name, positive in found.items() if not positive)
        return Reading(tuple(words), present, negated, frozenset(ruled_out), measures_in(question))

    def _introduced(self, matches: list[tuple[str, int, int]], raw_words: list[str], clause_of: list[int]) -> list[tuple[str, int, int]]:
        """"Site manager. Can I…": an opening of a job's words and nothing else is the asker saying who
        they are; those words name no colleague."""
        opening = [position for position, clause in enumerate(clause_of) if clause == 0]
        if not self._introduction or not opening or len(opening) > MAX_INTRODUCTION or len(opening) == len(clause_of):
            return matches
        jobs = [(concept, start, end) for concept, start, end in matches if concept in self._jobs and end <= len(opening)]
        said = [raw_words[position] for position in opening]
        last = len(said) - 1 - (said[-1] == "here")
        # "The new TA, …", "my TA -" point at someone; "Site manager.", "Supply teacher here" introduce.
        if last < 0 or not any(start <= last < end for _, start, end in jobs) or set(said) & POINTING_WORDS:
            return matches
        kept = [match for match in matches if match not in jobs]
        return kept + [(self._introduction, 0, len(opening))]

    def _gives_way(self, concept: str, start: int, end: int, matches: list[tuple[str, int, int]]) -> bool:
        yielding = self.concepts[concept]
        return bool(yielding.yields or yielding.yields_to) and any(
            other_start <= start and end <= other_end and other_end - other_start > end - start
            and yielding.gives_way_to(other)
            for other, other_start, other_end in matches
        )

    def _school_name_at(self, raw_words: list[str], folded: str) -> list[tuple[int, int]]:
        return [found for name, handle in zip(self._school_names, self._school_handles)
                for found in self._name_at(name, handle.search(folded.replace("'", "")) is not None, raw_words)]

    def _name_at(self, name: tuple[str, ...], handle: bool, raw_words: list[str]) -> list[tuple[int, int]]:
        length = len(name)
        found = []
        for position in range(len(raw_words)):
            # Staff shorten the name: "Thornby Primary" is Thornby Village Primary School.
            said = next((size for size in range(length, 0, -1) if tuple(raw_words[position:position + size]) == name[:size]), 0)
            if not said or (said < length and len(name[0]) < MIN_SHORT_NAME):
                continue
            after = raw_words[position + said] if position + said < len(raw_words) else ""
            at_work = position >= 2 and raw_words[position - 1] in {"at", "for"} and raw_words[position - 2] in WORKPLACE_WORDS
            if (handle and said == length) or after in SCHOOL_KIND_WORDS or at_work:
                found.append((position, position + said))
        return found

    def _correct(self, word: str, raw: str) -> str:
        if word in self._known or raw in NOT_TYPOS or len(raw) < MIN_TYPO_LENGTH or not raw.isalpha():
            return word
        correction = self._corrections.get(raw)
        if correction is None:
            if len(self._corrections) >= MAX_REMEMBERED_CORRECTIONS:
                self._corrections.clear()  # a long-running bot must not grow without bound
            correction = self._corrections[raw] = self._closest_term(raw) or word
        return correction

    def _closest_term(self, raw: str) -> str | None:
        if raw in english_words():
            return None
        limit = 1 if len(raw) < 10 else 2
        for spelling, stemmed in self._spellings.get(raw[0], ()):
            if spelling[:2] == raw[:2] and within_distance(raw, spelling, limit):
                return stemmed
        return None


def _schools_in(school_name: str) -> list[str]:
    """The schools a name joins with "and", when each part names a school of its own."""
    parts = re.split(r"\s+and\s+", school_name)
    kinds = lambda part: set(WORD.findall(fold(part))) & SCHOOL_KIND_WORDS  # noqa: E731
    return parts if len(parts) > 1 and all(kinds(part) for part in parts) else [school_name]


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    lines = ENGLISH_WORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def _expand_text_speak(words: list[str]) -> list[str]:
    expanded = []
    for position, word in enumerate(words):
        previous = words[position - 1] if position else ""
        # "ok 2 b friends" is text-speak, but "yr 2" and "year 2" are a year group.
        if word.isdigit() and previous in NUMBERED_THINGS:
            expanded.append(word)
        else:
            expanded.append(TEXT_SPEAK.get(word, word))
    return expanded


def _idiom(words: list[str], i: int) -> bool:
    """ "I don't know", "not sure": a negator that negates the speaker's knowledge, not what follows."""
    return i + 1 < len(words) and words[i + 1] in NOT_NEGATING_NEXT


def _negated(raw_words: list[str], clause_of: list[int], start: int) -> bool:
    first = max(0, start - LISTED_NEGATION_REACH)
    while first < start and clause_of[first] != clause_of[start]:
        first += 1
    before = raw_words[first:start]
    nearest = next(
        (i for i in range(len(before) - 1, -1, -1) if before[i] in NEGATORS and not _idiom(before, i)), None
    )
    if nearest is None:
        return False
    return len(before) - nearest <= NEGATION_REACH or any(w in {"or", "nor"} for w in before[nearest:])


def score(situation: Situation, reading: Reading, concepts: dict[str, Concept]) -> float:
    """The weight of the best pattern of the situation that the question satisfies, or 0."""
    pattern = best_pattern(situation, reading, concepts)
    return sum(concepts[name].weight for name in pattern) + situation.priority if pattern else 0.0


def best_pattern(situation: Situation, reading: Reading, concepts: dict[str, Concept]) -> tuple[str, ...]:
    """The heaviest of the situation's patterns the question satisfies (() when none does, or when an
    `unless` concept rules the situation out)."""
    present = reading.concepts
    if not present.isdisjoint(situation.unless):
        return ()
    matched = [pattern for pattern in situation.patterns if present.issuperset(pattern)]
    return max(matched, key=lambda pattern: sum(concepts[name].weight for name in pattern), default=())
