"""Microsoft Teams, through the Microsoft 365 Agents SDK. Every `microsoft_agents` import lives in this
package, and nothing imports it until a server mounts Teams:

    from bot.teams import mount_teams            # cheap: the SDK loads inside the call
    mount_teams(app, settings=settings, core=core)   # adds POST /api/messages to an aiohttp app
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web

    from bot.config import Settings

MESSAGES_PATH = "/api/messages"


def mount_teams(app: "web.Application", *, settings: "Settings", core) -> bool:
    """Add the Teams endpoint to `app`. Returns True when requests are authenticated (credentials set),
    False in anonymous local mode. Raises `bot.teams.connection.TeamsSettingsError` on bad settings."""
    from bot.teams.routes import teams_subapp

    subapp, authenticated = teams_subapp(settings=settings, core=core)
    app.add_subapp(MESSAGES_PATH.rsplit("/", 1)[0], subapp)
    return authenticated
