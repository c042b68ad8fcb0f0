"""Storage speed: anonymous reports written per second and outbox rows claimed per second, on SQLite and
on PostgreSQL, each beside a bare-driver baseline (aiosqlite / asyncpg writing rows of the same size)
measured in the same run.

PostgreSQL runs on the server POLICYBOT_TEST_POSTGRES_URL (or POLICYBOT_BENCH_POSTGRES_URL) names; without
one, on a throwaway cluster started on 127.0.0.1 for the run and stopped after it, when the PostgreSQL
server programs are installed (initdb and pg_ctl on PATH or in /usr/lib/postgresql/*/bin; as root, run as
the postgres user, as .ci/run does); failing that, on a server answering on 127.0.0.1:5432. Otherwise it is
reported as skipped. Everything is written to a temporary directory or a temporary database, never to
./data.

A report costs one scrypt hash of its secret (about 4 MB and ten milliseconds or so, on purpose: it makes
each guess at a stolen hash costly); the "scrypt alone" line shows that floor."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REPORTS = 40
OUTBOX_ROWS = 3_000
CLAIM_BATCH = 50
REPORT_TEXT = "Someone has been posting comments about me on the class parents' Facebook group. " * 6
LOCAL_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


async def measure_policybot(database_url: str, key_file: Path) -> dict[str, float]:
    from bot.config import Settings
    from storage import repository as repo
    from storage.database import Database

    db = await Database.open(settings=Settings(_env_file=None, database_url=database_url, encryption_key_file=key_file))
    try:
        started = time.perf_counter()
        for _ in range(REPORTS):
            async with db.transaction() as session:
                await repo.create_case(session=session, text=REPORT_TEXT)
        reports_per_second = REPORTS / (time.perf_counter() - started)

        # The same reports with the scrypt hash computed beforehand: what the database work itself costs.
        from storage import secrets_hashing

        real_hash = secrets_hashing.hash_secret
        secrets_hashing.hash_secret = lambda secret, _stored=real_hash("x"): _stored
        try:
            started = time.perf_counter()
            for _ in range(REPORTS * 5):
                async with db.transaction() as session:
                    await repo.create_case(session=session, text=REPORT_TEXT)
            unhashed_per_second = REPORTS * 5 / (time.perf_counter() - started)
        finally:
            secrets_hashing.hash_secret = real_hash

        async with db.transaction() as session:
            await repo.claim_notifications(session=session, worker_id="clear", limit=REPORTS * 6)  # the reports' own
        for start in range(0, OUTBOX_ROWS, 500):
            async with db.transaction() as session:
                for n in range(start, min(start + 500, OUTBOX_ROWS)):
                    await repo.enqueue_notification(session=session, recipient_role="headteacher", kind="bench", payload={"n": n, "text": REPORT_TEXT[:200]})
        claimed = 0
        started = time.perf_counter()
        while True:
            async with db.transaction() as session:
                batch = await repo.claim_notifications(session=session, worker_id="bench", limit=CLAIM_BATCH)
            if not batch:
                break
            claimed += len(batch)
        claims_per_second = claimed / (time.perf_counter() - started)
        assert claimed == OUTBOX_ROWS, claimed
    finally:
        await db.close()
    return {"reports": reports_per_second, "reports_unhashed": unhashed_per_second, "claims": claims_per_second}


BARE_TABLES = (
    "CREATE TABLE bare_report (id {pk}, code VARCHAR(9), secret_hash VARCHAR(200), text_encrypted TEXT, opened_on VARCHAR(10))",
    "CREATE TABLE bare_outbox (id {pk}, payload TEXT, status VARCHAR(16), claimed_by VARCHAR(100), attempts INTEGER DEFAULT 0)",
)


def _bare_rows():
    encrypted_size = len(REPORT_TEXT.encode()) * 4 // 3 + 40  # base64 of nonce + text + tag
    return secrets.token_urlsafe(encrypted_size)[:encrypted_size], "scrypt$" + secrets.token_urlsafe(64)


async def measure_bare_sqlite(path: Path) -> dict[str, float]:
    import aiosqlite

    text, secret_hash = _bare_rows()
    async with aiosqlite.connect(path, isolation_level=None) as connection:
        await connection.execute("PRAGMA journal_mode=WAL")
        await connection.execute("PRAGMA synchronous=NORMAL")
        for statement in BARE_TABLES:
            await connection.execute(statement.format(pk="INTEGER PRIMARY KEY"))
        started = time.perf_counter()
        for n in range(REPORTS * 10):
            await connection.execute("BEGIN IMMEDIATE")
            await connection.execute(
                "INSERT INTO bare_report (code, secret_hash, text_encrypted, opened_on) VALUES (?, ?, ?, ?)",
                (f"{n:09d}", secret_hash, text, "2026-01-01"),
            )
            await connection.execute("COMMIT")
        reports = REPORTS * 10 / (time.perf_counter() - started)
        await connection.execute("BEGIN")
        await connection.executemany("INSERT INTO bare_outbox (payload, status) VALUES (?, 'pending')", [(text[:300],)] * OUTBOX_ROWS)
        await connection.execute("COMMIT")
        claimed = 0
        started = time.perf_counter()
        while True:
            await connection.execute("BEGIN IMMEDIATE")
            cursor = await connection.execute(
                "UPDATE bare_outbox SET claimed_by = 'bare', attempts = attempts + 1 WHERE id IN "
                "(SELECT id FROM bare_outbox WHERE status = 'pending' AND claimed_by IS NULL ORDER BY id LIMIT ?) RETURNING id, payload",
                (CLAIM_BATCH,),
            )
            rows = await cursor.fetchall()
            await connection.execute("COMMIT")
            if not rows:
                break
            claimed += len(rows)
        claims = claimed / (time.perf_counter() - started)
    return {"reports": reports, "reports_unhashed": reports, "claims": claims}


async def measure_bare_postgres(server_url: str) -> dict[str, float]:
    import asyncpg

    text, secret_hash = _bare_rows()
    connection = await asyncpg.connect(_asyncpg_dsn(server_url))
    try:
        for statement in BARE_TABLES:
            await connection.execute(statement.format(pk="SERIAL PRIMARY KEY"))
        started = time.perf_counter()
        for n in range(REPORTS * 10):
            async with connection.transaction():
                await connection.execute(
                    "INSERT INTO bare_report (code, secret_hash, text_encrypted, opened_on) VALUES ($1, $2, $3, $4)",
                    f"{n:09d}", secret_hash, text, "2026-01-01",
                )
        reports = REPORTS * 10 / (time.perf_counter() - started)
        await connection.executemany("INSERT INTO bare_outbox (payload, status) VALUES ($1, 'pending')", [(text[:300],)] * OUTBOX_ROWS)
        claimed = 0
        started = time.perf_counter()
        while True:
            async with connection.transaction():
                rows = await connection.fetch(
                    "UPDATE bare_outbox SET claimed_by = 'bare', attempts = attempts + 1 WHERE id IN "
                    "(SELECT id FROM bare_outbox WHERE status = 'pending' AND claimed_by IS NULL ORDER BY id LIMIT $1 "
                    "FOR UPDATE SKIP LOCKED) RETURNING id, payload",
                    CLAIM_BATCH,
                )
            if not rows:
                break
            claimed += len(rows)
        claims = claimed / (time.perf_counter() - started)
    finally:
        await connection.close()
    return {"reports": reports, "reports_unhashed": reports, "claims": claims}


def measure_scrypt() -> float:
    from storage.secrets_hashing import hash_secret, new_case_secret

    started = time.perf_counter()
    for _ in range(20):
        hash_secret(new_case_secret())
    return 20 / (time.perf_counter() - started)


def _asyncpg_dsn(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _postgres_bin_dir() -> Path | None:
    """Where initdb and pg_ctl are: on PATH, or (Debian) the newest /usr/lib/postgresql/*/bin."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return Path(initdb).resolve().parent
    candidates = [path for path in Path("/usr/lib/postgresql").glob("*/bin") if (path / "initdb").exists() and (path / "pg_ctl").exists()]
    candidates.sort(key=lambda path: [int(part) if part.isdigit() else 0 for part in path.parent.name.split(".")])
    return candidates[-1] if candidates else None


@contextlib.contextmanager
def _throwaway_cluster(bin_dir: Path) -> Iterator[str]:
    """A PostgreSQL cluster on 127.0.0.1 and a free port, in a temporary folder, stopped and removed on exit.
    PostgreSQL refuses to run as root: as root it runs as the postgres user (or nobody), like .ci/run."""
    prefix: list[str] = []
    user = pwd.getpwuid(os.getuid()).pw_name
    if os.getuid() == 0:
        user = "postgres" if _user_exists("postgres") else "nobody"
        prefix = ["runuser", "-u", user, "--"]
    folder = Path(tempfile.mkdtemp(prefix="policybot-bench-pg-"))
    data = folder / "data"
    started = False
    try:
        folder.chmod(0o700)
        if os.getuid() == 0:
            shutil.chown(folder, user=user)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        subprocess.run(
            [*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", "policybot", "--auth=trust", "-E", "UTF8", "--no-sync"],
            check=True, capture_output=True, text=True,
        )
        # Durability off for a throwaway cluster, as in .ci/run: the figures compare like with like.
        options = f"-h 127.0.0.1 -p {port} -k {folder} -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        subprocess.run(
            [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-w", "-t", "60", "-o", options, "start"],
            check=True, capture_output=True, text=True,
        )
        started = True
        yield f"postgresql+asyncpg://policybot@127.0.0.1:{port}/postgres"
    finally:
        if started:
            subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


async def _postgres_server(stack: contextlib.ExitStack) -> tuple[str | None, str]:
    """A server URL and where it came from, or None and why not. A throwaway cluster is stopped when
    `stack` closes."""
    import asyncpg

    for variable in ("POLICYBOT_BENCH_POSTGRES_URL", "POLICYBOT_TEST_POSTGRES_URL"):
        if os.environ.get(variable):
            return os.environ[variable], variable
    bin_dir = _postgres_bin_dir()
    failure = ""
    if bin_dir is not None:
        try:
            url = stack.enter_context(_throwaway_cluster(bin_dir))
        except (OSError, subprocess.CalledProcessError) as error:
            detail = getattr(error, "stderr", "") or str(error)
            failure = f"; a throwaway cluster from {bin_dir} did not start: {detail.strip().splitlines()[-1] if detail.strip() else error}"
        else:
            return url, f"a throwaway cluster ({bin_dir.parent.name}) on {url.split('@')[1].rsplit('/', 1)[0]}"
    try:
        connection = await asyncio.wait_for(asyncpg.connect(_asyncpg_dsn(LOCAL_POSTGRES)), timeout=2)
    except (OSError, asyncio.TimeoutError, asyncpg.PostgresError) as error:
        programs = failure or "; no initdb/pg_ctl to start a throwaway cluster (apt-get install postgresql)"
        return None, f"no POLICYBOT_TEST_POSTGRES_URL, no server on 127.0.0.1:5432 ({type(error).__name__}){programs}"
    await connection.close()
    return LOCAL_POSTGRES, "127.0.0.1:5432"


async def _with_temporary_database(server_url: str, action):
    import asyncpg
    from sqlalchemy.engine import make_url

    name = f"policybot_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(_asyncpg_dsn(server_url))
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        return await action(make_url(server_url).set(database=name).render_as_string(hide_password=False))
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def run() -> None:
    results: dict[str, dict[str, dict[str, float]] | str] = {}
    postgres_source = ""
    with tempfile.TemporaryDirectory(prefix="policybot-bench-") as folder, contextlib.ExitStack() as stack:
        folder_path = Path(folder)
        results["SQLite"] = {
            "policybot": await measure_policybot(f"sqlite+aiosqlite:///{folder_path / 'policybot.db'}", folder_path / "key"),
            "bare": await measure_bare_sqlite(folder_path / "bare.db"),
        }
        server_url, source = await _postgres_server(stack)
        if server_url is None:
            results["PostgreSQL"] = f"skipped: {source}"
        else:
            postgres_source = source
            policybot = await _with_temporary_database(server_url, lambda url: measure_policybot(url, folder_path / "pg-key"))
            bare = await _with_temporary_database(server_url, measure_bare_postgres)
            results["PostgreSQL"] = {"policybot": policybot, "bare": bare}
    scrypt_per_second = measure_scrypt()

    databases = list(results)
    print(f"{'':34}" + "".join(f"{name:^36}" for name in databases))
    print(f"{'':34}" + "".join(f"{'policybot':>12}{'bare driver':>13}{'ratio':>9}  " for _ in databases))
    rows = (
        ("reports", "reports written/s (1 per txn)"),
        ("reports_unhashed", "  the same, secret hash precomputed"),
        ("claims", f"outbox rows claimed/s (batch {CLAIM_BATCH})"),
    )
    for key, label in rows:
        line = f"{label:34}"
        for name in databases:
            figures = results[name]
            if isinstance(figures, str):
                line += f"{'(skipped)':^36}"
            else:
                ours, bare = figures["policybot"][key], figures["bare"][key]
                line += f"{ours:>12,.0f}{bare:>13,.0f}{ours / bare:>9.2f}  "
        print(line)
    print(f"{'scrypt alone (the floor for reports)':34}{scrypt_per_second:>12,.0f}/s")
    for name, figures in results.items():
        if isinstance(figures, str):
            print(f"PostgreSQL {figures}")
    if postgres_source:
        print(f"PostgreSQL: {postgres_source}")
    print(
        "A report is one transaction: a scrypt hash of its secret, AES-GCM encryption, the case row, the outbox row "
        "and the audit event; the bare baseline inserts one row of the same size."
    )


if __name__ == "__main__":
    asyncio.run(run())
