"""Teams throughput and latency: policybot beside a bare Agents SDK echo app, measured in the same run.

Message activities are posted to /api/messages by 10 and by 100 concurrent clients on loopback, in three
alternating runs per app whose median is shown; every reply
the SDK sends goes to a local stand-in for the Bot Connector (in this process). Each server runs in a
subprocess of its own, so its peak RSS can be read. policybot runs as `python -m bot --no-emulator` in
local mode, with the real advisor and a fresh SQLite database.

An activity is "fully answered" when its reply has reached the connector and /api/messages has answered
(the SDK answers after the turn, replies included). Goals: answered/s >= 0.6x the bare app's, p99 at 10
clients <= 2x the bare app's, policybot's peak RSS <= 150 MB.

    python bench/bench_teams.py            # both apps, both concurrency levels
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import aiohttp
from aiohttp import web

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LEVELS = ((10, 1000), (100, 2000))  # (concurrent clients, activities measured in each run)
ROUNDS = 3
WARMUP = 200
PHASE_TIME_LIMIT_S = 60.0
READY_TIMEOUT_S = 60.0
QUESTIONS = (
    "Can I put photos of my class on my personal Instagram?",
    "can i accept a friend request from a parent on facebook",
    "Is it ok to share the school's tweet about sports day?",
    "Can I post a photo of my own dog on Instagram?",
)
GOAL_THROUGHPUT_RATIO = 0.6
GOAL_P99_RATIO = 2.0
GOAL_RSS_MB = 150.0


# --- The bare Agents SDK app (run in a subprocess with --bare-server PORT) ---------------------------

def run_bare_server(port: int) -> None:
    from microsoft_agents.hosting.aiohttp import CloudAdapter, jwt_authorization_middleware
    from microsoft_agents.hosting.core import ActivityHandler, AnonymousTokenProvider, ConnectionManager
    from microsoft_agents.hosting.core.authorization import AgentAuthConfiguration

    class Echo(ActivityHandler):
        async def on_message_activity(self, turn_context):
            await turn_context.send_activity(f"you said: {turn_context.activity.text}")

    configuration = AgentAuthConfiguration(anonymous_allowed=True)
    connections = ConnectionManager(
        provider_factory=lambda _c: AnonymousTokenProvider(),
        connections_configurations={"SERVICE_CONNECTION": configuration},
    )
    adapter = CloudAdapter(connection_manager=connections)
    agent = Echo()

    async def messages(request):
        return await adapter.process(request, agent)

    import logging
    import warnings

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("microsoft_agents").setLevel(logging.ERROR)
    app = web.Application(middlewares=[jwt_authorization_middleware])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        app["agent_configuration"] = configuration
    app.router.add_post("/api/messages", messages)
    print("ready", flush=True)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


# --- Measuring ---------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ConnectorStandIn:
    """Answers the SDK's Bot Connector calls like the real service and counts the replies."""

    def __init__(self) -> None:
        self.replies = 0

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        self.replies += 1
        return web.json_response({"id": f"reply-{self.replies}"})


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(kind: str, port: int, workdir: Path) -> subprocess.Popen:
    environment = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("SLACK_", "MICROSOFT_APP_", "DATABASE_URL", "ENVIRONMENT"))
    }
    environment.update({"PORT": str(port), "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"})
    if kind == "policybot":
        command = [sys.executable, "-m", "bot", "--no-emulator"]
    else:
        command = [sys.executable, str(Path(__file__).resolve()), "--bare-server", str(port)]
    # cwd is a fresh folder: policybot's SQLite database and key file are created there, and no .env is read.
    return subprocess.Popen(command, cwd=workdir, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_ready(process: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"server exited before it was ready (status {process.poll()})")
        if line.startswith("ready") or "is listening on" in line:
            break
    # Keep reading its output so that a chatty server never blocks on a full pipe.
    threading.Thread(target=process.stdout.read, daemon=True).start()
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("server not ready in time")


def activity(*, service_url: str, number: int, run: str) -> dict:
    user = f"29:bench-user-{number % 50}"
    return {
        "type": "message",
        "id": f"{run}-{number}",
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": {"id": user, "name": "Bench User"},
        "conversation": {"id": f"a:bench-chat-{number % 50}", "conversationType": "personal", "tenantId": "bench-tenant"},
        "recipient": {"id": "28:bench-bot", "name": "policybot"},
        "text": QUESTIONS[number % len(QUESTIONS)],
        "textFormat": "plain",
        "locale": "en-GB",
    }


async def load(session: aiohttp.ClientSession, *, url: str, service_url: str, clients: int, total: int, run: str):
    """Post `total` activities from `clients` concurrent clients; per-activity latencies and wall time."""
    counter = iter(range(total))
    latencies: list[float] = []
    failures = 0
    deadline = time.monotonic() + PHASE_TIME_LIMIT_S

    async def client() -> None:
        nonlocal failures
        for number in counter:
            if time.monotonic() > deadline:
                return
            started = time.perf_counter()
            async with session.post(url, json=activity(service_url=service_url, number=number, run=run)) as response:
                await response.read()
                if response.status != 202:
                    failures += 1
                    continue
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, time.perf_counter() - started, failures


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


class RunningServer:
    def __init__(self, kind: str, workdir: Path) -> None:
        self.kind = kind
        self.port = free_port()
        self.process = start_server(kind, self.port, workdir)
        self.url = f"http://127.0.0.1:{self.port}/api/messages"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


async def measure_level(session, server: RunningServer, connector: ConnectorStandIn, service_url: str, clients: int, total: int) -> dict:
    replies_before = connector.replies
    latencies, elapsed, failures = await load(
        session, url=server.url, service_url=service_url, clients=clients, total=total, run=uuid.uuid4().hex[:8]
    )
    answered = min(len(latencies), connector.replies - replies_before)
    return {
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "per_s": answered / elapsed,
        "answered": answered,
        "sent": len(latencies) + failures,
        "failures": failures,
    }


def median_run(runs: list[dict]) -> dict:
    """The run with the median throughput: the machine may be busy with other work during any one run."""
    return sorted(runs, key=lambda run: run["per_s"])[len(runs) // 2]


async def measure_both(connector: ConnectorStandIn, service_url: str) -> tuple[dict, dict]:
    with tempfile.TemporaryDirectory(prefix="bench-teams-") as workdir:
        servers = {}
        try:
            for kind in ("bare", "policybot"):
                (Path(workdir) / kind).mkdir()
                servers[kind] = RunningServer(kind, Path(workdir) / kind)
                await asyncio.to_thread(wait_ready, servers[kind].process, servers[kind].port)
            results: dict[str, dict] = {kind: {} for kind in servers}
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200)) as session:
                for server in servers.values():
                    await load(session, url=server.url, service_url=service_url, clients=10, total=WARMUP, run=f"warmup-{uuid.uuid4().hex[:8]}")
                for clients, total in LEVELS:
                    runs: dict[str, list[dict]] = {kind: [] for kind in servers}
                    # Alternate the two apps, so that anything else the machine does hits both alike.
                    for _ in range(ROUNDS):
                        for kind, server in servers.items():
                            runs[kind].append(await measure_level(session, server, connector, service_url, clients, total))
                    for kind in servers:
                        results[kind][clients] = median_run(runs[kind])
            for kind, server in servers.items():
                results[kind]["rss_mb"] = peak_rss_mb(server.process.pid)
            return results["bare"], results["policybot"]
        finally:
            for server in servers.values():
                server.stop()


async def main() -> int:
    connector = ConnectorStandIn()
    app = web.Application()
    app.router.add_route("*", "/_connector/{tail:.*}", connector.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    service_url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/_connector"
    try:
        bare, policybot = await measure_both(connector, service_url)
    finally:
        await runner.cleanup()

    print(f"{'Teams /api/messages':<26}{'clients':>8}{'p50 ms':>9}{'p99 ms':>9}{'answered/s':>12}{'answered':>10}")
    for clients, _ in LEVELS:
        for name, results in (("bare Agents SDK echo", bare), ("policybot", policybot)):
            row = results[clients]
            print(f"{name:<26}{clients:>8}{row['p50_ms']:>9.2f}{row['p99_ms']:>9.2f}{row['per_s']:>12.0f}{row['answered']:>6}/{row['sent']}")
    print(f"{'peak RSS':<26}bare {bare['rss_mb']:.0f} MB, policybot {policybot['rss_mb']:.0f} MB")
    print()
    met = True
    for clients, _ in LEVELS:
        ratio = policybot[clients]["per_s"] / bare[clients]["per_s"]
        ok = ratio >= GOAL_THROUGHPUT_RATIO
        met &= ok
        print(f"answered/s at {clients:>3} clients: {ratio:.2f}x bare (goal >= {GOAL_THROUGHPUT_RATIO}x) {'ok' if ok else 'MISSED'}")
    p99_ratio = policybot[10]["p99_ms"] / bare[10]["p99_ms"]
    ok = p99_ratio <= GOAL_P99_RATIO
    met &= ok
    print(f"p99 at  10 clients: {p99_ratio:.2f}x bare (goal <= {GOAL_P99_RATIO}x) {'ok' if ok else 'MISSED'}")
    ok = policybot["rss_mb"] <= GOAL_RSS_MB
    met &= ok
    print(f"policybot peak RSS: {policybot['rss_mb']:.0f} MB (goal <= {GOAL_RSS_MB:.0f} MB) {'ok' if ok else 'MISSED'}")
    failures = sum(results[clients]["failures"] for results in (bare, policybot) for clients, _ in LEVELS)
    if failures:
        print(f"{failures} requests did not get 202 Accepted")
    print("all Teams goals met" if met else "some Teams goals missed")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bare-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.bare_server:
        run_bare_server(arguments.bare_server)
    else:
        sys.exit(asyncio.run(main()))
