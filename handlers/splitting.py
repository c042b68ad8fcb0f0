"""Long text cut into pieces each platform can show: at a line break, else a space, never mid-word
unless a piece has neither in its second half."""

from __future__ import annotations

from collections.abc import Callable


def split_text(text: str, limit: int, *, adjust_hard_cut: Callable[[str, int], int] | None = None) -> list[str]:
    """Pieces of at most `limit` characters. `adjust_hard_cut(text, cut)` may move a cut that falls
    mid-word (a renderer keeps its escapes, like `&amp;`, whole)."""
    pieces = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        if cut < limit // 2:
            cut = text.rfind(" ", 0, limit)
        if cut < limit // 2:
            cut = adjust_hard_cut(text, limit) if adjust_hard_cut else limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return [*pieces, text] if text else pieces
