"""How replies reach the Bot Connector: kept-alive HTTP sessions, and retries where Teams asks for them.

The SDK's own factory opens a new HTTP session (and so a new TLS connection) for every turn and closes it
after. Here each service URL keeps one session for the life of the server, and its requests back off on
429 (honouring Retry-After) and retry 412, 502 and 504, as the Bot Framework's rate-limit guidance asks.
Tokens are fetched exactly as the SDK does; agentic and Copilot Studio requests keep the SDK's path.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import logging

from aiohttp import ClientHandlerType, ClientRequest, ClientResponse, ClientSession, ClientTimeout, TCPConnector
from microsoft_agents.activity import RoleTypes
from microsoft_agents.hosting.core import RestChannelServiceClientFactory, TurnContext
from microsoft_agents.hosting.core.authorization import ClaimsIdentity
from microsoft_agents.hosting.core.connector import ConnectorClientBase
from microsoft_agents.hosting.core.connector.teams import TeamsConnectorClient

log = logging.getLogger(__name__)


def _compute_user_agent_once() -> None:
    """The SDK rebuilds its User-Agent string for every client it creates, two a turn, and each time asks
    importlib.metadata for its version, which scans every sys.path entry: about a tenth of a turn's CPU.
    The string cannot change while the process runs, so every SDK module that uses it gets a cached copy."""
    from microsoft_agents.hosting.core.connector import get_product_info

    cached = functools.cache(get_product_info)
    for module_name in (
        "microsoft_agents.hosting.core.connector.client.connector_client",
        "microsoft_agents.hosting.core.connector.client.user_token_client",
        "microsoft_agents.hosting.core.connector.mcs.mcs_connector_client",
    ):
        module = importlib.import_module(module_name)
        if getattr(module, "get_product_info", None) is get_product_info:
            module.get_product_info = cached


_compute_user_agent_once()

RETRY_STATUSES = frozenset({412, 429, 502, 504})
MAX_ATTEMPTS = 3
FIRST_BACKOFF_S = 0.5
# A turn runs while Teams waits for our HTTP answer (15 s), so retries must end well before that.
MAX_WAIT_S = 4.0
REQUEST_TIMEOUT = ClientTimeout(total=10)
# Teams uses a handful of service URLs (one per region); more than this and the oldest session is retired.
MAX_SESSIONS = 16
RETIRE_AFTER_S = 30.0


def _retry_after(response: ClientResponse) -> float | None:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None


async def retry_middleware(request: ClientRequest, handler: ClientHandlerType) -> ClientResponse:
    for attempt in range(1, MAX_ATTEMPTS + 1):
        response = await handler(request)
        if response.status not in RETRY_STATUSES or attempt == MAX_ATTEMPTS:
            return response
        wait = _retry_after(response) if response.status == 429 else None
        wait = min(wait if wait is not None else FIRST_BACKOFF_S * 2 ** (attempt - 1), MAX_WAIT_S)
        log.warning("Bot Connector answered %s; retrying in %.1f s", response.status, wait)
        response.release()
        await asyncio.sleep(wait)
    raise AssertionError("the loop returns on its last attempt")


class _KeptSessionConnectorClient(TeamsConnectorClient):
    async def close(self) -> None:
        # The session outlives the turn; ConnectorSessions.close() ends it with the server.
        return None


class KeptAliveClientFactory(RestChannelServiceClientFactory):
    def __init__(self, connection_manager) -> None:
        super().__init__(connection_manager)
        self._sessions: dict[str, ClientSession] = {}

    def _session(self, service_url: str) -> ClientSession:
        base_url = service_url if service_url.endswith("/") else service_url + "/"
        session = self._sessions.get(base_url)
        if session is None or session.closed:
            if len(self._sessions) >= MAX_SESSIONS:
                oldest = self._sessions.pop(next(iter(self._sessions)))
                # Requests may still be using it: close it once they are surely done.
                asyncio.get_running_loop().call_later(RETIRE_AFTER_S, lambda: asyncio.ensure_future(oldest.close()))
            session = ClientSession(
                base_url=base_url,
                connector=TCPConnector(limit_per_host=50, keepalive_timeout=60),
                timeout=REQUEST_TIMEOUT,
                middlewares=(retry_middleware,),
            )
            self._sessions[base_url] = session
        return session

    async def create_connector_client(
        self,
        context: TurnContext | None,
        claims_identity: ClaimsIdentity,
        service_url: str,
        audience: str,
        scopes: list[str] | None = None,
        use_anonymous: bool = False,
    ) -> ConnectorClientBase:
        activity = context.activity if context else None
        sdk_path = (
            not service_url
            or not audience
            or activity is None
            or activity.is_agentic_request()
            or (activity.recipient is not None and activity.recipient.role == RoleTypes.connector_user)
        )
        if sdk_path:
            return await super().create_connector_client(
                context, claims_identity, service_url, audience, scopes, use_anonymous
            )
        provider = (
            self._ANONYMOUS_TOKEN_PROVIDER
            if use_anonymous
            else self._connection_manager.get_token_provider(claims_identity, service_url)
        )
        token = await provider.get_access_token(audience, scopes or claims_identity.get_token_scope())
        return _KeptSessionConnectorClient(endpoint=service_url, token=token, session=self._session(service_url))

    async def bearer_token(self, claims_identity: ClaimsIdentity | None, service_url: str) -> str | None:
        """The bot's token for the Bot Connector at `service_url`, obtained as for a connector client (the
        same provider, audience and scopes as the turn's replies); None for an anonymous turn (local mode)."""
        if claims_identity is None or claims_identity.allow_anonymous or not service_url:
            return None
        audience = claims_identity.get_token_audience()
        provider = self._connection_manager.get_token_provider(claims_identity, service_url)
        return await provider.get_access_token(audience, claims_identity.get_token_scope())

    async def close(self) -> None:
        for session in self._sessions.values():
            await session.close()
        self._sessions.clear()
