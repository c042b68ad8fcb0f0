"""Ages and years, read as numbers: a policy's "once the former pupil has turned 21" or "at least three full
years have passed since they left", and a question's "she's 19 now" or "left about 8 yrs ago".

Each school draws its own line for former pupils (18, 21, 25; a year, two, three since they left). A
question that gives the number meets the line or falls short of it; one that does not say is the
headteacher's."""

from __future__ import annotations

import re

MIN_AGE = "min_age"
MIN_YEARS_LEFT = "min_years_left"
MEASURED = (MIN_AGE, MIN_YEARS_LEFT)
ADULT = 18

_NUMBER_WORDS = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                 "nine": 9, "ten": 10, "couple of": 2}
_COUNT = r"(\d{1,2}|a|one|two|three|four|five|six|seven|eight|nine|ten|couple of)"

# A policy's line: "aged 21 or over", "18+", "has turned 21", "reached the age of 18", "until they are 25".
_POLICY_AGE = re.compile(
    r"\b(?:aged|turned|turns?|reach(?:ed|es)?(?: the age of)?|age of|(?:is|are|be)(?: both)?(?: aged)?)\s+(1[6-9]|2\d)\b(?!\s*(?:hours|days|weeks|months))"
    r"|\b(1[6-9]|2\d)\s*(?:\+|or over|or older|and over|and above|years (?:of age )?or over)",
    re.IGNORECASE)
# "…at least three full years have passed since they left", "…left the school at least two years ago".
_POLICY_YEARS = re.compile(
    rf"\b{_COUNT}\s+(?:full\s+)?(?:academic\s+)?years?\s+(?:ha(?:ve|s)\s+(?:passed|elapsed|gone by)\s+)?since\b"
    rf"|\bleft\b[^.;]{{0,60}}?\b(?:at least|more than|over)\s+{_COUNT}\s+(?:full\s+)?years?\s+ago\b",
    re.IGNORECASE)

# A question's age: "she's 19 now", "he's 21", "(she's 16)", "is 22 now", "turned 18 last week", "nearly 18".
_AGE_SAID = re.compile(
    r"\b(?:s?he'?s|s?hes|they'?re|theyre|(?:is|are)(?: now)?|now|turned|aged?)\s+(?:(nearly|almost|about|around|like)\s+)?"
    r"(1\d|[2-5]\d)\b(?!\s*(?:min|mins|minutes|hours|hrs|days|weeks|months|years? ago|yrs ago|pupils|kids|children|of|%|am|pm|[:.]\d))"
    r"|\b(1\d|[2-5]\d)\s*(?:now|yo|y/o|yrs old|years old|year old)\b"
    r"|\((?:s?he'?s\s+|aged?\s+)?(1\d|[2-5]\d)\)",
    re.IGNORECASE)
_YEARS_SAID = re.compile(rf"\b(?:about |like |around |over )?{_COUNT}\s+(?:yrs|years|year|summers)\s+ago\b", re.IGNORECASE)
_WITHIN_A_YEAR = re.compile(r"\b(?:left|finished|went up)\b[^.?!]{0,40}\b(?:last (?:year|summer|july|june|term)|this (?:summer|year)|in (?:july|june)|months ago|weeks ago)\b",
                            re.IGNORECASE)


def policy_thresholds(condition: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The lines a condition draws, as limits: (("min_age", ("21",)),)."""
    limits = []
    ages = [int(next(group for group in found.groups() if group)) for found in _POLICY_AGE.finditer(condition)]
    if ages:
        limits.append((MIN_AGE, (str(max(ages)),)))
    years = [_count(next(group for group in found.groups() if group)) for found in _POLICY_YEARS.finditer(condition)]
    if years:
        limits.append((MIN_YEARS_LEFT, (str(max(years)),)))
    return tuple(limits)


# A piece of a condition split from its verb: "…left the school where you taught them | at least two years ago".
_YEARS_PIECE = re.compile(rf"\b(?:at least|more than|over)\s+{_COUNT}\s+(?:full\s+)?years?\b", re.IGNORECASE)


def draws_a_line(piece: str) -> bool:
    return bool(_POLICY_AGE.search(piece) or _POLICY_YEARS.search(piece) or _YEARS_PIECE.search(piece))


def measures_in(question: str) -> frozenset[tuple[str, int]]:
    """What a question says of a person's age and of the years since they left."""
    said = set()
    for found in _AGE_SAID.finditer(question):
        hedge, *numbers = found.groups()
        age = int(next(number for number in numbers if number))
        # "nearly 18" is 17.
        said.add((MIN_AGE, age - 1 if (hedge or "").lower() in {"nearly", "almost"} else age))
    for found in _YEARS_SAID.finditer(question):
        said.add((MIN_YEARS_LEFT, _count(found.group(1))))
    if _WITHIN_A_YEAR.search(question):
        said.add((MIN_YEARS_LEFT, 0))
    return frozenset(said)


def meets(threshold: str, said: list[int]) -> bool:
    return all(value >= int(threshold) for value in said)


def _count(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBER_WORDS[word.lower()]
