"""The aiohttp side: `POST /api/messages` in a sub-application of its own, so that the token check
(bot/teams/auth.py) guards that route only (not /healthz or Slack's routes)."""

from __future__ import annotations

from aiohttp import web

from bot.config import Settings
from bot.teams.agent import PolicyBotAgent
from bot.teams.auth import BotTokenValidator, KeySources, LocalAccess, authorization_middleware
from bot.teams.connection import build_connection
from bot.teams.files import FileDownloader

AGENT_KEY = web.AppKey("policybot_teams_agent", PolicyBotAgent)


def teams_subapp(*, settings: Settings, core, key_sources: KeySources | None = None) -> tuple[web.Application, bool]:
    """`key_sources`: where the signing keys come from, Microsoft's by default (tests serve their own)."""
    connection = build_connection(settings)
    files = FileDownloader(tokens=connection.clients.bearer_token, authenticated=connection.authenticated)
    agent = PolicyBotAgent(core=core, card_actions=settings.teams_card_actions, files=files)
    access = (
        BotTokenValidator(connection.auth_configuration, key_sources=key_sources)
        if connection.authenticated
        else LocalAccess()
    )
    subapp = web.Application(middlewares=[authorization_middleware(access)])
    subapp[AGENT_KEY] = agent
    adapter = connection.adapter

    async def messages(request: web.Request) -> web.StreamResponse:
        # The SDK answers a malformed body with a 500 and a traceback; say plainly what is wrong instead.
        try:
            activity = await request.json()
        except ValueError:
            return web.Response(status=400, text="the body is not JSON")
        if not isinstance(activity, dict) or not activity.get("type") or not activity.get("serviceUrl"):
            return web.Response(status=400, text="the body is not a Bot Framework activity (type and serviceUrl are needed)")
        return await adapter.process(request, agent)

    subapp.router.add_post("/messages", messages)

    async def close_clients(_app: web.Application) -> None:
        await access.close()
        await files.close()
        await connection.clients.close()

    subapp.on_cleanup.append(close_clients)
    return subapp, connection.authenticated
