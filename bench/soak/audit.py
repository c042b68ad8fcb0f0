"""The anonymity audit. First a load of its own with every server at LOG_LEVEL=DEBUG (Slack and Teams, SQLite
and PostgreSQL: questions, clicks and anonymous reports), then a search of everything the whole run left:
each database the checks used (SQLite: the files' raw bytes, journal included; PostgreSQL: a pg_dump)
and every line the servers wrote to stdout and stderr, for every anonymous reporter's user id, name (the
users.info answer and the payloads' user name), Teams AAD object id, and DM channel or conversation id.
Zero hits expected.
"""

from __future__ import annotations

import sys
from collections import Counter

from bench.soak import servers as s
from bench.soak.load import run_phases
from bench.soak.table import Row, SoakContext

KINDS = ("user id", "name", "AAD id", "DM channel", "conversation id")


def _needles(reporter) -> list[tuple[str, str]]:
    values = (reporter.user_id, reporter.name, reporter.aad_id, reporter.dm_channel, reporter.conversation_id)
    return [(kind, value) for kind, value in zip(KINDS, values) if value]


def _search(haystack: str, reporters) -> Counter:
    """(kind) → hits of any reporter's identifier of that kind in `haystack`."""
    found: Counter = Counter()
    for reporter in reporters:
        for kind, value in _needles(reporter):
            if value in haystack:
                found[kind] += 1
    return found


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def run(ctx: SoakContext) -> list[Row]:
    phases, notes = await run_phases(ctx, name="audit", clients=ctx.scale(20, 4), seconds=ctx.scale(10.0, 2.0), log_level="DEBUG")
    # The audit's own load, judged like the load check's (RSS aside: DEBUG logging is not what a school runs).
    load_rows = [row for phase in phases for row in phase.rows(judge_rss=False)]
    load_row = Row(
        "audit: load at DEBUG", f"{len(phases)} runs: {' / '.join(f'{p.platform} {p.database}' for p in phases)}; "
        f"{sum(p.reports_confirmed for p in phases)} reports confirmed, {sum(p.reports_stored for p in phases)} stored",
        held=sum(row.held for row in load_rows), lost=sum(row.lost for row in load_rows), refused=sum(row.refused for row in load_rows),
    )
    reporters = list(ctx.audit.reporters)
    identifiers = sum(len(_needles(reporter)) for reporter in reporters)

    stored_hits: Counter = Counter()
    dirty_in_store: set[str] = set()
    searched = 0
    unreadable = 0
    for url in ctx.audit.database_urls:
        try:
            data = (await s.database_bytes(url)).decode("utf-8", "replace")
        except Exception as error:
            unreadable += 1
            _say(f"   audit: could not read a database ({type(error).__name__}: {error})")
            continue
        searched += 1
        found = _search(data, reporters)
        if found:
            _say(f"   audit: {sum(found.values())} identifiers in the database {url.split('/')[-1]}: {dict(found)}")
            dirty_in_store.update(r.user_id for r in reporters if any(v in data for _, v in _needles(r)))
        stored_hits += found

    logged_hits: Counter = Counter()
    dirty_in_logs: set[str] = set()
    lines = debug_lines = 0
    for path in ctx.audit.log_paths:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        lines += text.count("\n")
        debug_lines += text.count(" DEBUG ")
        found = _search(text, reporters)
        if found:
            _say(f"   audit: {sum(found.values())} identifiers in the log {path.name}: {dict(found)}")
            dirty_in_logs.update(r.user_id for r in reporters if any(v in text for _, v in _needles(r)))
        logged_hits += found

    def described(hits: Counter) -> str:
        return ", ".join(f"{count} {kind}" for kind, count in hits.items()) or "none"

    return [
        load_row,
        Row("audit: databases (SQLite bytes, pg_dump)",
            f"{len(reporters)} anonymous reporters ({identifiers} identifiers) in {searched} databases"
            f"{f', {unreadable} unreadable' if unreadable else ''}: found {described(stored_hits)}",
            held=len(reporters) - len(dirty_in_store), lost=sum(stored_hits.values()) + unreadable),
        Row("audit: server logs at DEBUG",
            f"{lines} lines from {len(ctx.audit.log_paths)} server runs ({debug_lines} at DEBUG): found {described(logged_hits)}",
            held=len(reporters) - len(dirty_in_logs), lost=sum(logged_hits.values())),
        *notes,
    ]
