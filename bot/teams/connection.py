"""Credentials and the `CloudAdapter`.

With MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD set, every request to /api/messages must carry a Bot
Framework JWT for that app id (checked in bot/teams/auth.py), and replies are sent with tokens from
Microsoft Entra ID (MSAL). Without them, in local mode only, requests without a token are accepted and
replies carry none: that is what Microsoft's local Teams emulator speaks.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass

from microsoft_agents.activity import Activity, ActivityTypes
from microsoft_agents.hosting.aiohttp import CloudAdapter
from microsoft_agents.hosting.core import AnonymousTokenProvider, ConnectionManager, TurnContext
from microsoft_agents.hosting.core.authorization import AgentAuthConfiguration, AuthTypes

from bot.config import Settings
from bot.teams.clients import KeptAliveClientFactory

log = logging.getLogger(__name__)

SERVICE_CONNECTION = "SERVICE_CONNECTION"
MULTI_TENANT_AUTHORITY = "botframework.com"
TURN_ERROR_TEXT = "Sorry, something went wrong on my side. Please try again in a minute."


class TeamsSettingsError(ValueError):
    """Teams settings that cannot work; the message is one line for the person running the bot."""


@dataclass(frozen=True)
class TeamsConnection:
    adapter: CloudAdapter
    auth_configuration: AgentAuthConfiguration
    authenticated: bool
    clients: KeptAliveClientFactory  # close() it when the server stops


def check_settings(settings: Settings) -> None:
    if settings.microsoft_app_id and not settings.microsoft_app_password and settings.microsoft_app_type != "UserAssignedMSI":
        raise TeamsSettingsError("MICROSOFT_APP_ID is set without MICROSOFT_APP_PASSWORD (see .env.example)")
    if settings.microsoft_app_password and not settings.microsoft_app_id:
        raise TeamsSettingsError("MICROSOFT_APP_PASSWORD is set without MICROSOFT_APP_ID (see .env.example)")
    if settings.environment == "production" and not settings.microsoft_app_id:
        raise TeamsSettingsError(
            "ENVIRONMENT=production needs MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD for Teams; "
            "without them anyone could post to /api/messages"
        )
    if settings.microsoft_app_id and settings.microsoft_app_type == "SingleTenant" and not settings.microsoft_app_tenant_id:
        raise TeamsSettingsError("MICROSOFT_APP_TYPE=SingleTenant needs MICROSOFT_APP_TENANT_ID (your Microsoft 365 tenant id)")


def _authenticated_configuration(settings: Settings) -> AgentAuthConfiguration:
    managed_identity = settings.microsoft_app_type == "UserAssignedMSI"
    tenant = settings.microsoft_app_tenant_id or (MULTI_TENANT_AUTHORITY if settings.microsoft_app_type == "MultiTenant" else None)
    return AgentAuthConfiguration(
        auth_type=AuthTypes.user_managed_identity if managed_identity else AuthTypes.client_secret,
        client_id=settings.microsoft_app_id,
        tenant_id=tenant,
        client_secret=None if managed_identity else settings.microsoft_app_password,
        connection_name=SERVICE_CONNECTION,
        anonymous_allowed=False,
    )


SDK_LOGGER = "microsoft_agents"


def _safe_arg(value: object) -> object:
    return value if value is None or isinstance(value, (bool, int, float)) else "…"


def _where(error: BaseException) -> str:
    """Where an exception came from, frame by frame, without its message: an SDK error's text names the
    conversation (`v3/conversations/<id>/…`) or repeats the message sent."""
    return "".join(traceback.format_tb(error.__traceback__)).rstrip()


def _scrubbed(record: logging.LogRecord) -> logging.LogRecord:
    message = str(record.msg)
    if isinstance(record.args, tuple) and record.args:
        try:
            message = message % tuple(_safe_arg(arg) for arg in record.args)
        except (TypeError, ValueError):
            pass
    if record.exc_info and record.exc_info[1] is not None:
        message += f" ({type(record.exc_info[1]).__name__})\n{_where(record.exc_info[1])}"
    record.msg, record.args, record.exc_info, record.exc_text = message, None, None, None
    return record


def scrub_sdk_logs() -> None:
    """Keep the SDK's logs free of ids. It logs conversation and activity ids at INFO for every reply and
    at ERROR when the connector refuses one, and an exception's text can hold them too. So its chatter
    below WARNING is off (as `policybot serve` also sets), and every record it makes is scrubbed as it is
    made, before any handler sees it: text arguments become "…", an exception its type and frames only.
    Safe to call more than once."""
    sdk = logging.getLogger(SDK_LOGGER)
    if sdk.level == logging.NOTSET or sdk.level < logging.WARNING:
        sdk.setLevel(logging.WARNING)
    previous = logging.getLogRecordFactory()
    if getattr(previous, "policybot_scrubs_sdk", False):
        return

    def make_record(name, *args, **kwargs) -> logging.LogRecord:
        record = previous(name, *args, **kwargs)
        return _scrubbed(record) if name == SDK_LOGGER or name.startswith(SDK_LOGGER + ".") else record

    make_record.policybot_scrubs_sdk = True
    logging.setLogRecordFactory(make_record)


async def _on_turn_error(context: TurnContext, error: Exception) -> None:
    # The SDK's default handler sends the exception text to the user; say nothing internal. The log has
    # the exception's type and frames, not its text, which may name the conversation or hold a message.
    log.error("a Teams turn failed: %s\n%s", type(error).__name__, _where(error))
    if context.activity.type != ActivityTypes.invoke:
        await context.send_activity(Activity(type=ActivityTypes.message, text=TURN_ERROR_TEXT))


def build_connection(settings: Settings) -> TeamsConnection:
    check_settings(settings)
    scrub_sdk_logs()
    # An app id means a registered bot: authenticate (a managed identity has an app id and no password).
    authenticated = bool(settings.microsoft_app_id)
    if authenticated:
        # Imported only with credentials: MSAL is not needed, or loaded, in local mode.
        from microsoft_agents.authentication.msal import MsalConnectionManager

        configuration = _authenticated_configuration(settings)
        connections = MsalConnectionManager(connections_configurations={SERVICE_CONNECTION: configuration})
    else:
        configuration = AgentAuthConfiguration(anonymous_allowed=True, connection_name=SERVICE_CONNECTION)
        connections = ConnectionManager(
            provider_factory=lambda _configuration: AnonymousTokenProvider(),
            connections_configurations={SERVICE_CONNECTION: configuration},
        )
        # Without an app id the SDK warns on every turn; in local mode that is expected.
        logging.getLogger("microsoft_agents.hosting.core.connector.client.user_token_client").setLevel(logging.ERROR)
    clients = KeptAliveClientFactory(connections)
    adapter = CloudAdapter(channel_service_client_factory=clients)
    adapter.on_turn_error = _on_turn_error
    return TeamsConnection(adapter=adapter, auth_configuration=configuration, authenticated=authenticated, clients=clients)
