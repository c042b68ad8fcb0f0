"""Slack for policybot (slack-bolt, async). Every slack_bolt / slack_sdk import stays in this package,
and importing this module itself imports neither: the SDK loads only when an adapter is built.

How the server mounts it::

    from bot.slack import build_slack_app
    slack = build_slack_app(settings=settings, core=core)   # needs SLACK_BOT_TOKEN
    if settings.slack_signing_secret:
        slack.add_routes(app)          # POST /slack/events: events, /policy, shortcuts, buttons, forms
    if settings.slack_app_token:
        await slack.start_socket_mode()   # connects and returns; no public URL needed
    ...
    await slack.close()                # on shutdown (disconnects Socket Mode)

`slack.routes()` gives the `aiohttp.web.RouteDef` list instead of adding it; `slack_routes(settings=,
core=)` is the one-line form for HTTP only. Settings: SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET (HTTP mode),
SLACK_APP_TOKEN (Socket Mode), SLACK_API_URL (the Web API; tests point it at a local server).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web

    from bot.slack.app import SlackAdapter


def build_slack_app(*, settings, core) -> "SlackAdapter":
    from bot.slack.app import SlackAdapter

    return SlackAdapter(settings=settings, core=core)


def slack_routes(*, settings, core) -> "list[web.RouteDef]":
    return build_slack_app(settings=settings, core=core).routes()


__all__ = ["build_slack_app", "slack_routes"]
