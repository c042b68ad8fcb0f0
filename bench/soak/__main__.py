"""`make soak`: load, replicas, duplicate deliveries, faults, crashes, hostile input and the anonymity audit,
each against real `policybot serve` processes on loopback, printed as one table (check, figure, held / lost
/ refused). Exit status 1 when anything was lost or a check did not finish.

    python -m bench.soak [--short] [--only NAME ...] [--postgres-url URL]

Without --postgres-url a throwaway PostgreSQL cluster is started when PostgreSQL is installed (initdb);
otherwise the PostgreSQL checks say they were skipped. Every check is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
import tempfile
import time
from pathlib import Path

from bench.soak.table import Row, SoakContext, broken, failed, render, skipped, summary

# In the order they run; the audit last, as it searches what the others left. Each module has
# `async def run(ctx) -> list[Row]`; one not written yet is skipped.
CHECKS = ("load", "replicas", "duplicates", "faults", "kills", "hostile", "audit")
# A check that runs longer than this is stopped and reported as not finished.
CHECK_TIMEOUT_S = {"full": 900.0, "short": 120.0}


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def _run_check(name: str, ctx: SoakContext) -> list[Row]:
    module_name = f"bench.soak.{name}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name == module_name:
            return [skipped(name, "not written yet")]
        raise
    timeout = CHECK_TIMEOUT_S["short" if ctx.short else "full"]
    started = time.monotonic()
    try:
        rows = await asyncio.wait_for(module.run(ctx), timeout)
    except asyncio.TimeoutError:
        rows = [broken(name, f"still running after {timeout:.0f} s")]
    except Exception as error:
        rows = [broken(name, f"{type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else ''}")]
    _say(f"   {name}: {time.monotonic() - started:.1f} s")
    return rows


async def run_suite(*, short: bool, only: list[str] | None = None, postgres_url: str | None = None) -> list[Row]:
    """Every check (or those named), with a PostgreSQL server: the one given, else a throwaway cluster."""
    from bench.soak.servers import PostgresCluster

    names = [name for name in CHECKS if not only or name in only]
    cluster = None
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="policybot-soak-") as workdir:
        ctx = SoakContext(short=short, workdir=Path(workdir), postgres_url=postgres_url)
        try:
            if postgres_url is None:
                try:
                    cluster = await PostgresCluster.start()
                except Exception as error:
                    ctx.postgres_missing = f"the throwaway PostgreSQL cluster did not start ({error})"
                if cluster is not None:
                    ctx.postgres_url, ctx.postgres_cluster = cluster.server_url, cluster
                    _say(f"== PostgreSQL: a throwaway cluster on {cluster.server_url}")
                elif ctx.postgres_missing.startswith("no PostgreSQL"):
                    ctx.postgres_missing = "no PostgreSQL installed (initdb not found) and no --postgres-url"
            if ctx.postgres_url is None:
                _say(f"== PostgreSQL checks skipped: {ctx.postgres_missing}")
            for name in names:
                _say(f"== {name}")
                rows.extend(await _run_check(name, ctx))
        finally:
            await ctx.close()
            if cluster is not None:
                await cluster.close()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", help="a few seconds a check (what `make test` runs)")
    parser.add_argument("--only", nargs="+", choices=CHECKS, metavar="NAME", help=f"only these checks: {', '.join(CHECKS)}")
    parser.add_argument("--postgres-url", metavar="URL", help="a PostgreSQL server to make databases on (postgresql+asyncpg://…/postgres)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    rows = asyncio.run(run_suite(short=args.short, only=args.only, postgres_url=args.postgres_url))
    print(render(rows))
    print(f"{summary(rows)} ({time.monotonic() - started:.0f} s{', short form' if args.short else ''})")
    return 1 if failed(rows) else 0


if __name__ == "__main__":
    sys.exit(main())
