"""What a person typed, made safe for every surface that shows it to someone else. Platform-neutral: each
renderer adds its own escaping (Block Kit mrkdwn, Adaptive Card Markdown) on top.

A client links what it displays: an escaped `[label](url)` no longer links, but a bare `evil.example` or
`https://evil.example` still would, as if the bot had sent it. So a dot inside a host-like word becomes
U+2024 ONE DOT LEADER and a word joiner follows the colon of `scheme:/` and `mailto:`: the text reads as
typed and nothing in it is clickable. Only host-like words change (a last part of two letters or more after
a dot), so "e.g.", "2.5" and ordinary sentences are left exactly as they are.
"""

from __future__ import annotations

import re

# C0 and C1 controls but tab and line feed (a carriage return is dropped: "\r\n" is a line break), and the
# bidirectional embeddings, overrides and isolates that would make the bot's own words after them read
# backwards (right-to-left text itself, and the RLM/LRM marks, need none of them).
_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f"
_UNSHOWN = re.compile(f"[{_CONTROLS}\u202a-\u202e\u2066-\u2069]")
_UNTYPED = re.compile(f"[{_CONTROLS}]")
_HOST_LIKE = re.compile(r"[^\W_][\w-]*(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![^\W_])")
# Once: a colon already followed by the word joiner is left alone, so defusing twice changes nothing.
_SCHEME_COLON = re.compile(r"(?<=[A-Za-z0-9]):(?=/)|(?<=[Mm][Aa][Ii][Ll][Tt][Oo]):(?!\u2060)")
ONE_DOT_LEADER = "\u2024"
WORD_JOINER = "\u2060"


def whole(text: str) -> str:
    """`text` with every lone surrogate as U+FFFD (a valid pair becomes the character it encodes)."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def typed_text(text: str) -> str:
    """What a person typed, to put back in a form: whole, without control characters, never defused."""
    return _UNTYPED.sub("", whole(text))


def shown_text(text: str) -> str:
    """`text` as it may be shown: valid Unicode, no control or direction-override character, and nothing a
    client could take for an address to link (it reads the same). Applying it twice changes nothing."""
    text = _UNSHOWN.sub("", whole(text))
    if "." in text:
        text = _HOST_LIKE.sub(lambda match: match.group(0).replace(".", ONE_DOT_LEADER), text)
    return _SCHEME_COLON.sub(":" + WORD_JOINER, text) if ":" in text else text


def shown_prefix(text: str, end: int) -> str:
    """The first `end` characters of a shown text, shown again, in at most `end` characters: a cut can end a
    word where it makes an address ("evil.com00" cut to "evil.com"), or part "mailto:" from its word joiner,
    which showing puts back (one character more, so the cut moves back before the colon)."""
    prefix = shown_text(text[:end])
    return prefix if len(prefix) <= end else shown_text(text[: end - 1])
