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
