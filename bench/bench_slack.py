"""Slack: how fast policybot answers signed DM events, beside a bare bolt app measured in the same run.

Each app runs as a server in its own subprocess on loopback (so its peak RSS can be read); this process
plays Slack: 10, then 100 concurrent clients each post a signed `message.im` event, wait until the answer
reaches the local recording Web API, and send the next. Printed per app and per client count: response
time (event sent → answer received by the Web API) p50/p99, the HTTP acknowledgement p50/p99, and events
fully answered per second; then the ratios to the bare app and the servers' peak RSS.

Goals (issue 4): answered/s ≥ 0.6 × the bare app's, p99 at 10 clients ≤ 2 × the bare app's, RSS ≤ 150 MB.

    .venv/bin/python bench/bench_slack.py [--events 1500] [--warmup 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aiohttp import ClientSession, ClientTimeout, TCPConnector, web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-bench"
BOT_USER_ID = "U0POLICYBOT"
QUESTIONS = (
    "Can I post photos of my class on my Instagram?",
    "can i accept a friend request from a pupil's mum on facebook",
    "Is it ok to like the school's facebook page?",
    "Check this before I post: 'Great day at the museum with Year 4!'",
    "can I give a LinkedIn recommendation to a former colleague?",
)
CLIENT_COUNTS = (10, 100)
ANSWER_TIMEOUT_S = 10.0
GOAL_THROUGHPUT_RATIO = 0.6
GOAL_P99_RATIO = 2.0
GOAL_RSS_MB = 150


# --- The servers under test (run in a subprocess) -------------------------------------------------------

async def serve(kind: str, *, port: int, api_url: str, workdir: str) -> None:
    import logging

    logging.basicConfig(level=logging.WARNING)
    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    app = web.Application()
    closers = []
    if kind == "bare":
        bolt = AsyncApp(client=AsyncWebClient(token=BOT_TOKEN, base_url=api_url), signing_secret=SIGNING_SECRET)

        @bolt.event("message")
        async def say_one_line(say) -> None:
            await say("Thanks for your message.")

        async def handle(request: web.Request) -> web.Response:
            return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

        app.router.add_post("/slack/events", handle)
    else:
        from bot.config import Settings
        from bot.slack import build_slack_app
        from handlers.core import ConversationCore

        settings = Settings(
            _env_file=None,
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=api_url,
            database_url=f"sqlite+aiosqlite:///{workdir}/bench.db",
            encryption_key_file=Path(workdir) / "encryption.key",
        )
        core = await ConversationCore.start(settings=settings)
        slack = build_slack_app(settings=settings, core=core)
        slack.add_routes(app)
        closers = [slack.close, core.close]

    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print("READY", flush=True)
    await stop.wait()
    await runner.cleanup()
    for close in closers:
        await close()


# --- Slack's side: the recording Web API and the signed clients -----------------------------------------

class RecordingWebApi:
    """Answers the Web API; resolves the waiting client when its channel gets an answer."""

    def __init__(self) -> None:
        self.waiting: dict[str, asyncio.Future] = {}
        self.answered = 0

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if method == "auth.test":
            return web.json_response({"ok": True, "user_id": BOT_USER_ID, "bot_id": "B0POLICYBOT", "team_id": "T0BENCH", "user": "policybot", "team": "Bench", "url": "https://bench.slack.com/"})
        arguments = await request.json() if request.content_type == "application/json" else dict(await request.post())
        if method == "chat.postMessage":
            self.answered += 1
            future = self.waiting.pop(arguments.get("channel", ""), None)
            if future is not None and not future.done():
                future.set_result(time.perf_counter())
        return web.json_response({"ok": True, "channel": arguments.get("channel"), "ts": "1760000000.000100"})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def signed_event(number: int, *, run: str) -> tuple[str, bytes, dict]:
    from slack_sdk.signature import SignatureVerifier

    channel = f"D{run}{number:07d}"
    body = json.dumps(
        {
            "token": "bench",
            "team_id": "T0BENCH",
            "api_app_id": "A0POLICYBOT",
            "event": {
                "type": "message",
                "channel": channel,
                "user": "U0TEACHER1",
                "text": QUESTIONS[number % len(QUESTIONS)],
                "ts": f"1760000000.{number:06d}",
                "event_ts": f"1760000000.{number:06d}",
                "channel_type": "im",
            },
            "type": "event_callback",
            "event_id": f"Ev{run}{number:08d}",
            "event_time": 1760000000,
        }
    )
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=stamp, body=body),
    }
    return channel, body.encode(), headers


async def load(*, url: str, api: RecordingWebApi, clients: int, events: int, run: str) -> dict:
    numbers = iter(range(events))
    answer_times: list[float] = []
    ack_times: list[float] = []
    failures = 0

    async def client(session: ClientSession) -> None:
        nonlocal failures
        for number in numbers:
            channel, body, headers = signed_event(number, run=run)
            answered = asyncio.get_running_loop().create_future()
            api.waiting[channel] = answered
            sent = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                acked = time.perf_counter()
            if response.status != 200:
                failures += 1
                continue
            try:
                received = await asyncio.wait_for(answered, ANSWER_TIMEOUT_S)
            except asyncio.TimeoutError:
                failures += 1
                continue
            ack_times.append(acked - sent)
            answer_times.append(received - sent)

    connector = TCPConnector(limit=clients)
    async with ClientSession(connector=connector, timeout=ClientTimeout(total=ANSWER_TIMEOUT_S)) as session:
        started = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return {
        "answered_per_s": len(answer_times) / elapsed,
        "p50_ms": percentile(answer_times, 50) * 1000,
        "p99_ms": percentile(answer_times, 99) * 1000,
        "ack_p50_ms": percentile(ack_times, 50) * 1000,
        "ack_p99_ms": percentile(ack_times, 99) * 1000,
        "failures": failures,
    }


def percentile(values: list[float], pct: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def measure(kind: str, *, api: RecordingWebApi, api_url: str, events: int, warmup: int) -> tuple[dict, float]:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="policybot-bench-") as workdir:
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", kind, "--port", str(port), "--api-url", api_url, "--workdir", workdir],
            stdout=subprocess.PIPE,
            cwd=workdir,
            env={**{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))}, "PYTHONPATH": str(ROOT)},
        )
        try:
            ready = await asyncio.wait_for(asyncio.to_thread(server.stdout.readline), 60)
            if ready.strip() != b"READY":
                raise RuntimeError(f"the {kind} server did not start")
            url = f"http://127.0.0.1:{port}/slack/events"
            await load(url=url, api=api, clients=10, events=warmup, run=f"{kind[0]}W")
            results = {}
            for clients in CLIENT_COUNTS:
                results[clients] = await load(url=url, api=api, clients=clients, events=events, run=f"{kind[0]}{clients}")
            rss = peak_rss_mb(server.pid)
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    return results, rss


async def bench(*, events: int, warmup: int) -> int:
    api = RecordingWebApi()
    api_app = web.Application()
    api_app.router.add_post("/api/{method}", api.handle)
    runner = web.AppRunner(api_app, access_log=None)
    await runner.setup()
    api_port = free_port()
    await web.TCPSite(runner, "127.0.0.1", api_port).start()
    api_url = f"http://127.0.0.1:{api_port}/api/"
    try:
        bare, bare_rss = await measure("bare", api=api, api_url=api_url, events=events, warmup=warmup)
        ours, our_rss = await measure("policybot", api=api, api_url=api_url, events=events, warmup=warmup)
    finally:
        await runner.cleanup()

    print(f"Slack: {events} signed DM events per run, answers to a local recording Web API (loopback)")
    print(f"{'app':<10} {'clients':>7} {'answered/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'ack p50':>8} {'ack p99':>8} {'failed':>6}")
    for name, results in (("bare bolt", bare), ("policybot", ours)):
        for clients, r in results.items():
            print(
                f"{name:<10} {clients:>7} {r['answered_per_s']:>11.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f}"
                f" {r['ack_p50_ms']:>8.2f} {r['ack_p99_ms']:>8.2f} {r['failures']:>6}"
            )
    ok = True
    for clients in CLIENT_COUNTS:
        ratio = ours[clients]["answered_per_s"] / bare[clients]["answered_per_s"]
        met = ratio >= GOAL_THROUGHPUT_RATIO
        ok &= met
        print(f"answered/s ratio at {clients:>3} clients: {ratio:.2f}× the bare app (goal ≥ {GOAL_THROUGHPUT_RATIO}) {'ok' if met else 'MISSED'}")
    p99_ratio = ours[10]["p99_ms"] / bare[10]["p99_ms"]
    met = p99_ratio <= GOAL_P99_RATIO
    ok &= met
    print(f"p99 ratio at  10 clients: {p99_ratio:.2f}× the bare app (goal ≤ {GOAL_P99_RATIO}) {'ok' if met else 'MISSED'}")
    met = our_rss <= GOAL_RSS_MB
    ok &= met
    print(f"peak RSS: policybot {our_rss:.0f} MB, bare bolt {bare_rss:.0f} MB (goal ≤ {GOAL_RSS_MB} MB) {'ok' if met else 'MISSED'}")
    failures = sum(r["failures"] for results in (bare, ours) for r in results.values())
    if failures:
        print(f"{failures} events were not answered within {ANSWER_TIMEOUT_S} s")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1500, help="events per client count (default 1500)")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--serve", choices=("bare", "policybot"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--api-url", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve, port=args.port, api_url=args.api_url, workdir=args.workdir))
        return 0
    return asyncio.run(bench(events=max(args.events, 10), warmup=max(args.warmup, 10)))


if __name__ == "__main__":
    sys.exit(main())
