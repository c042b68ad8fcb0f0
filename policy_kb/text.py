"""Turning staff's words into comparable tokens: lower case, light stemming, typo tolerance."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

WORD = re.compile(r"[a-z0-9]+")
APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "“": '"', "”": '"', "–": "-", "—": "-"})
# Exceptions that the suffix rules below would damage.
STEM_EXCEPTIONS = {
    "news": "news", "has": "has", "was": "was", "this": "this", "is": "is", "us": "us", "bus": "bus",
    "class": "class", "whatsapp": "whatsapp", "always": "always", "status": "status", "ms": "ms",
    "his": "his", "does": "do", "yes": "yes", "kids": "kid", "sexy": "sexy", "nursing": "nursing",
    "during": "during", "evening": "evening", "morning": "morning", "something": "something",
    "anything": "anything", "nothing": "nothing", "everything": "everything", "thing": "thing",
    "things": "thing", "bring": "bring", "wedding": "wedding", "building": "building", "ring": "ring",
    "king": "king", "sing": "sing", "string": "string", "spring": "spring", "children": "child",
    "media": "media", "need": "need", "feed": "feed", "bed": "bed", "red": "red", "shed": "shed",
    "speed": "speed", "seed": "seed", "united": "united", "led": "led", "interested": "interest",
    "llinkedin": "linkedin", "linkedin": "linkedin", "tos": "tos", "parents": "parent", "staff": "staff",
    "whatsapped": "whatsapp", "whatsapping": "whatsapp", "whatsapps": "whatsapp",
    "using": "use", "used": "use", "uses": "use", "lies": "lie", "dies": "die", "ties": "tie", "pies": "pie", "series": "series",
}


def fold(text: str) -> str:
    """Lower case, plain apostrophes and dashes, accents removed: emoji and other scripts are kept."""
    if text.isascii():
        # Nothing to decompose: most of what staff type, and every term.
        return text.replace("`", "'").lower()
    text = unicodedata.normalize("NFKD", text.translate(APOSTROPHES))
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


@lru_cache(maxsize=20000)
def stem(word: str) -> str:
    if word in STEM_EXCEPTIONS:
        return STEM_EXCEPTIONS[word]
    if len(word) <= 3:
        return word
    for suffix, replacement, min_len in (
        ("ies", "y", 5), ("ied", "y", 5), ("ying", "y", 6), ("ing", "", 6), ("ed", "", 5),
        ("es", "", 6), ("s", "", 4),
    ):
        if word.endswith(suffix) and len(word) >= min_len and not word.endswith("ss"):
            base = word[: len(word) - len(suffix)] + replacement
            if suffix in {"ing", "ed"} and len(base) > 3 and base[-1] == base[-2] and base[-1] not in "ls":
                base = base[:-1]  # "chatting" -> "chat", "tagged" -> "tag"
            if suffix == "es" and not base.endswith(("sh", "ch", "x", "ss", "z")):
                base = word[:-1]  # "images" -> "image", but "matches" -> "match"
            return _drop_final_e(base)
    return _drop_final_e(word)


def _drop_final_e(word: str) -> str:
    # "share", "shared", "sharing" all become "shar"; "image", "images" become "imag".
    return word[:-1] if len(word) > 3 and word.endswith("e") and not word.endswith("ee") else word


def tokens(text: str) -> list[str]:
    folded = fold(text).replace("'s ", " ").replace("'", "")
    return [stem(word) for word in WORD.findall(folded)]


def within_distance(a: str, b: str, limit: int) -> bool:
    """Optimal string alignment distance (a swap counts as one edit) of at most `limit`."""
    if abs(len(a) - len(b)) > limit:
        return False
    previous_previous: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous_previous[j - 2] + 1)
        if min(current) > limit:
            return False
        previous_previous, previous = previous, current
    return previous[-1] <= limit
