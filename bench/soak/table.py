"""What every soak check returns, and the one table they are printed as.

A check is `async def run(ctx: SoakContext) -> list[Row]`. A row counts things: `held` (what was kept:
answered, stored once, delivered once), `lost` (what was acknowledged and then went missing, or happened
twice), `refused` (what the bot turned away: a forged request, an error answer under load). The suite
fails when any row has something lost or a check could not run to its end.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Row:
    check: str
    figure: str
    held: int = 0
    lost: int = 0
    refused: int = 0
    skipped: bool = False
    # The check could not run to its end (a harness error, a timeout): the suite fails, as for a loss.
    broken: bool = False


def skipped(check: str, reason: str) -> Row:
    return Row(check=check, figure=f"skipped: {reason}", skipped=True)


def broken(check: str, reason: str) -> Row:
    return Row(check=check, figure=f"did not finish: {reason}", broken=True)


@dataclass(frozen=True)
class Reporter:
    """Someone who reported anonymously: none of this may be found in a database or a log afterwards."""

    user_id: str
    name: str = ""
    aad_id: str = ""
    dm_channel: str = ""
    conversation_id: str = ""

    def needles(self) -> tuple[str, ...]:
        return tuple(value for value in (self.user_id, self.name, self.aad_id, self.dm_channel, self.conversation_id) if value)


@dataclass
class AuditTrail:
    """What the anonymity audit searches after the other checks: their anonymous reporters, the
    databases and the server logs they used. A check adds to it as it goes."""

    reporters: list[Reporter] = field(default_factory=list)
    database_urls: list[str] = field(default_factory=list)
    log_paths: list[Path] = field(default_factory=list)

    def add(self, *, reporters=(), database_url: str | None = None, servers=()) -> None:
        self.reporters.extend(reporters)
        if database_url and database_url not in self.database_urls:
            self.database_urls.append(database_url)
        for server in servers:
            if server.log_path not in self.log_paths:
                self.log_paths.append(server.log_path)


@dataclass
class SoakContext:
    """One run of the suite: its size, its PostgreSQL server (None: the PostgreSQL checks skip), a
    folder that lives until the end of the run, and the audit trail."""

    short: bool
    workdir: Path
    postgres_url: str | None = None
    postgres_cluster: object | None = None  # servers.PostgresCluster when the suite started it (can be restarted)
    postgres_missing: str = "no PostgreSQL server (pass --postgres-url or install PostgreSQL)"
    # The databases the load-like checks run on (the short test picks one at a time).
    database_kinds: tuple[str, ...] = ("sqlite", "postgres")
    audit: AuditTrail = field(default_factory=AuditTrail)
    # PostgreSQL databases made during the run, dropped at its end (kept till then for the audit).
    databases: list[str] = field(default_factory=list)
    _folders: int = 0

    def scale(self, full, short):
        return short if self.short else full

    def folder(self, name: str) -> Path:
        self._folders += 1
        path = self.workdir / f"{self._folders:02d}-{name}"
        path.mkdir(parents=True)
        return path

    async def new_database(self) -> str:
        """A fresh database on the run's PostgreSQL server (call only when `postgres_url` is set)."""
        from bench.soak.servers import create_database

        url = await create_database(self.postgres_url)
        self.databases.append(url)
        return url

    async def close(self) -> None:
        from bench.soak.servers import drop_database

        for url in self.databases:
            with contextlib.suppress(Exception):
                await drop_database(url)


COLUMNS = ("check", "figure", "held", "lost", "refused")


def render(rows: list[Row]) -> str:
    cells = [COLUMNS] + [(row.check, row.figure, *(("-",) * 3 if row.skipped else (str(row.held), str(row.lost), str(row.refused)))) for row in rows]
    widths = [max(len(line[column]) for line in cells) for column in range(len(COLUMNS))]

    def line(values) -> str:
        left = [value.ljust(width) for value, width in zip(values[:2], widths[:2])]
        right = [value.rjust(width) for value, width in zip(values[2:], widths[2:])]
        return "  ".join(left + right).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(cells[0]), rule, *(line(values) for values in cells[1:])])


def failed(rows: list[Row]) -> bool:
    return any(row.lost or row.broken for row in rows)


def summary(rows: list[Row]) -> str:
    lost = [row for row in rows if row.lost]
    broken_rows = [row for row in rows if row.broken]
    skipped_rows = [row for row in rows if row.skipped]
    parts = [f"{sum(row.lost for row in rows)} lost in {len(lost)} rows" if lost else "nothing lost"]
    if broken_rows:
        parts.append(f"{len(broken_rows)} checks did not finish")
    if skipped_rows:
        parts.append(f"{len(skipped_rows)} skipped")
    return "; ".join(parts)
