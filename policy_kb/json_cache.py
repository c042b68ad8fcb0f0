"""What is slow to make from a file (a Word policy's lines, a parsed knowledge file) is kept as JSON in
the cache folder beside the database, under a hash of what it was made from, and made again when that
changes or the cache cannot be read or written."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Callable


def cached(cache_dir: Path | None, kind: str, source: bytes, make: Callable[[], Any]) -> Any:
    """`make()`, or what it returned the last time for the same `source`. Its value must be plain JSON."""
    if cache_dir is None:
        return make()
    path = Path(cache_dir) / f"{kind}-{hashlib.sha256(source).hexdigest()[:32]}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass  # not made yet, or an unreadable copy: make it again
    value = make()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
        temporary.replace(path)
    except (OSError, TypeError, ValueError):
        pass  # a read-only folder, or a value JSON cannot hold (a TOML date): made again next time
    return value
