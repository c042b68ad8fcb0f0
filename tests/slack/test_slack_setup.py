"""How the server mounts Slack, and what it refuses."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest
from slack_harness import BOT_TOKEN

from bot.config import Settings
from bot.slack import build_slack_app


def test_importing_the_package_does_not_load_the_slack_sdk():
    code = "import sys, bot.slack; print(any(m.startswith(('slack_bolt', 'slack_sdk')) for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


async def test_no_http_route_without_a_signing_secret_and_no_socket_mode_without_an_app_token(core):
    slack = build_slack_app(settings=Settings(_env_file=None, slack_bot_token=BOT_TOKEN), core=core)
    with pytest.raises(ValueError, match="SLACK_SIGNING_SECRET"):
        slack.routes()
    with pytest.raises(ValueError, match="SLACK_APP_TOKEN"):
        await slack.start_socket_mode()
    await slack.close()
    with pytest.raises(ValueError, match="SLACK_BOT_TOKEN"):
        build_slack_app(settings=Settings(_env_file=None, slack_signing_secret="s"), core=core)


async def test_bolt_logs_stay_at_warning(settings, core):
    slack = build_slack_app(settings=settings, core=core)
    assert logging.getLogger("slack_bolt").level == logging.WARNING
    await slack.close()


async def test_a_wrong_app_token_is_one_clear_error_not_endless_retries(core, tmp_path):
    from aiohttp import web

    from bot.slack.app import SlackSettingsError

    async def refuse(request: web.Request) -> web.Response:
        return web.json_response({"ok": False, "error": "invalid_auth"})

    app = web.Application()
    app.router.add_post("/api/{method}", refuse)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    settings = Settings(
        _env_file=None, slack_bot_token=BOT_TOKEN, slack_app_token="xapp-wrong", slack_api_url=f"http://127.0.0.1:{port}/api/"
    )
    slack = build_slack_app(settings=settings, core=core)
    try:
        with pytest.raises(SlackSettingsError, match="invalid_auth"):
            await slack.start_socket_mode()
    finally:
        await slack.close()
        await runner.cleanup()


def test_serve_turns_a_wrong_app_token_into_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    import threading
    from aiohttp import web

    from bot.cli import main

    loop_ready = threading.Event()
    state = {}

    def fake_slack() -> None:
        import asyncio

        async def refuse(request):
            return web.json_response({"ok": False, "error": "invalid_auth"})

        async def run():
            app = web.Application()
            app.router.add_post("/api/{method}", refuse)
            runner = web.AppRunner(app)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            state["port"] = site._server.sockets[0].getsockname()[1]
            state["stop"] = asyncio.Event()
            loop_ready.set()
            await state["stop"].wait()
            await runner.cleanup()

        state["loop"] = asyncio.new_event_loop()
        state["loop"].run_until_complete(run())

    thread = threading.Thread(target=fake_slack, daemon=True)
    thread.start()
    loop_ready.wait(10)
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-wrong")
    monkeypatch.setenv("SLACK_API_URL", f"http://127.0.0.1:{state['port']}/api/")
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        monkeypatch.setenv("PORT", str(probe.getsockname()[1]))
    try:
        assert main(["serve", "--no-emulator"]) == 2
    finally:
        state["loop"].call_soon_threadsafe(state["stop"].set)
        thread.join(10)
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("policybot: Slack refused SLACK_APP_TOKEN (invalid_auth)")
