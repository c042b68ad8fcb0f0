"""Who may post to /api/messages: a Bot Framework or Entra token for our app id, checked here rather than by
the SDK's `jwt_authorization_middleware`.

The SDK checks each token in a worker thread, behind a lock per key set, and fetches the keys again for a
key id it does not know unless a fetch succeeded in the last 30 s: while one of Microsoft's key sets was
slow and failing, forty junk tokens naming it took every worker thread, one fetch at a time, and kept a
genuine request waiting 14 s (Teams re-sends after 15 s); a token without a key id got a 500 and a
traceback. Here:
- a token is accepted as the SDK accepts it: RS256, signed by a key of its issuer's key set (the Bot
  Framework's for the Bot Framework's issuer, Entra's for the others), audience our app id, not expired
  (the SDK's five minutes of clock skew), an Entra token's tenant that of its issuer. Its issuer must also
  be on the SDK's list for this connection, which the SDK checks only when asked to. The claims are handed
  on where the SDK's adapter reads them, so replies are sent exactly as before;
- everything that needs no key is checked first, so junk is refused without a fetch;
- each key set is kept for a day, then refreshed in the background; one fetch at a time, awaited by every
  request that needs it; a key id not in the set refreshes it at most once a minute, and is otherwise
  refused at once;
- a refused request gets a bare 401 before its body is read; nothing of it is logged or kept.
Local mode (no app id) accepts requests without a token and refuses any with one, as the SDK did.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import jwt
from aiohttp import ClientError, ClientSession, ClientTimeout, web
from microsoft_agents.hosting.core.authorization import AgentAuthConfiguration, ClaimsIdentity
from microsoft_agents.hosting.core.authorization._entra_issuers import (
    effective_tenant,
    entra_issuer_info,
    is_gov_authority,
    well_known_first_party_issuers,
)
from microsoft_agents.hosting.core.authorization.authentication_constants import AuthenticationConstants

log = logging.getLogger(__name__)

ALGORITHMS = ["RS256"]
CLOCK_SKEW_S = 300.0  # the SDK's leeway
KEYS_FRESH_FOR_S = 24 * 3600.0
# For a key id not in the set, or keys a day old: how often a key set may be fetched again.
REFRESH_AT_MOST_EVERY_S = 60.0
# Until a key set has been fetched once no genuine request can pass, so a failed first fetch is retried sooner.
FIRST_FETCH_RETRY_EVERY_S = 5.0
FETCH_TIMEOUT = ClientTimeout(total=5)
MAX_KEY_SET_BYTES = 256 * 1024
# Bot Framework tokens are about 1.5 kB; aiohttp refuses header lines over 8 kB anyway.
MAX_TOKEN_CHARS = 8192
MAX_KEY_ID_CHARS = 256
# Three base64url segments: anything else is no JWT, and PyJWT need not see it (it raises on some of it).
JWT_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
# The request key under which the SDK's adapter (AiohttpRequestAdapter) reads the caller's identity.
CLAIMS_IDENTITY_KEY = "claims_identity"
REFUSED = {"error": "Invalid token or authentication failed."}


@dataclass(frozen=True)
class KeySources:
    """The key sets (JWKS URIs) tokens are checked against, routed by issuer as the SDK routes them."""

    botframework: str
    entra: str

    @classmethod
    def for_configuration(cls, configuration: AgentAuthConfiguration) -> "KeySources":
        # The SDK's public-cloud URIs: policybot sets no AUTHORITY, so no US Government issuer is accepted.
        tenant = configuration.TENANT_ID or "common"
        return cls(
            botframework=AuthenticationConstants.PUBLIC_ABS_JWKS_URL,
            entra=f"https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys",
        )

    def for_issuer(self, issuer: str) -> str:
        return self.botframework if issuer == AuthenticationConstants.AGENTS_SDK_TOKEN_ISSUER else self.entra


def _signing_keys(key_set: object) -> dict[str, jwt.PyJWK]:
    """The RSA signing keys of a JWK set by key id (what PyJWKClient would pick from it)."""
    entries = key_set.get("keys") if isinstance(key_set, dict) else None
    if not isinstance(entries, list):
        raise ValueError("not a JWK set")
    keys = {}
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("kty") != "RSA" or entry.get("use", "sig") != "sig":
            continue
        kid = entry.get("kid")
        if not isinstance(kid, str) or not kid:
            continue
        try:
            keys[kid] = jwt.PyJWK(entry, algorithm=ALGORITHMS[0])
        except (jwt.PyJWTError, ValueError, TypeError):
            continue
    if not keys:
        raise ValueError("no RSA signing keys")
    return keys


class SigningKeys:
    """One key set's keys by key id. Never raises: a key that cannot be had is None."""

    def __init__(self, uri: str, *, session: Callable[[], ClientSession], clock: Callable[[], float] = time.monotonic) -> None:
        self.uri = uri
        self._session = session
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = -math.inf
        self._attempted_at = -math.inf
        self._fetch: asyncio.Task | None = None

    async def key(self, kid: str) -> jwt.PyJWK | None:
        now = self._clock()
        if self._keys and now - self._fetched_at >= KEYS_FRESH_FOR_S and now - self._attempted_at >= REFRESH_AT_MOST_EVERY_S:
            self._start_fetch(now)  # in the background: the day-old keys serve meanwhile
        key = self._keys.get(kid)
        if key is not None:
            return key
        fetch = self._fetch
        if fetch is None:
            retry_every = REFRESH_AT_MOST_EVERY_S if self._keys else FIRST_FETCH_RETRY_EVERY_S
            if now - self._attempted_at < retry_every:
                return None
            fetch = self._start_fetch(now)
        # Shielded: a request given up on must not cancel the fetch the others await.
        await asyncio.shield(fetch)
        return self._keys.get(kid)

    def _start_fetch(self, now: float) -> asyncio.Task:
        if self._fetch is None:
            self._attempted_at = now
            self._fetch = asyncio.create_task(self._refresh(), name="policybot-teams-signing-keys")
            self._fetch.add_done_callback(self._fetch_ended)
        return self._fetch

    def _fetch_ended(self, _task: asyncio.Task) -> None:
        self._fetch = None

    async def stop(self) -> None:
        fetch = self._fetch
        if fetch is not None:
            fetch.cancel()
            await asyncio.wait({fetch})

    async def _refresh(self) -> None:
        try:
            async with self._session().get(self.uri, timeout=FETCH_TIMEOUT, allow_redirects=False) as response:
                response.raise_for_status()
                body = bytearray()
                async for chunk in response.content.iter_chunked(64 * 1024):
                    body += chunk
                    if len(body) > MAX_KEY_SET_BYTES:
                        raise ValueError("key set too large")
            keys = _signing_keys(json.loads(body))
        except (ClientError, TimeoutError, ValueError) as error:
            # The host only: an Entra key set's path names the school's tenant.
            log.warning("could not fetch Teams signing keys from %s (%s); %d keys kept", urlsplit(self.uri).hostname, type(error).__name__, len(self._keys))
            return
        self._keys, self._fetched_at = keys, self._clock()


def _bearer_token(authorization: str | None) -> str | None:
    # As the SDK's aiohttp middleware reads the header: "Bearer", any case, then the token alone.
    parts = (authorization or "").split(maxsplit=1)
    if len(parts) != 2 or parts[0].lower() != "bearer":
        return None
    token = parts[1].strip()
    if len(token) > MAX_TOKEN_CHARS or not JWT_SHAPE.fullmatch(token):
        return None
    return token


class BotTokenValidator:
    """Checks tokens for one connection (app id); `key_sources` says where its signing keys come from."""

    def __init__(
        self,
        configuration: AgentAuthConfiguration,
        *,
        key_sources: KeySources | None = None,
    ) -> None:
        self._app_id = configuration.CLIENT_ID.lower()
        self._issuers = {issuer.lower() for issuer in configuration.ISSUERS + well_known_first_party_issuers(configuration.AUTHORITY)}
        tenant = (effective_tenant(configuration.TENANT_ID, configuration.AUTHORITY) or "").lower()
        # A common/organizations connection takes any tenant's Entra issuer of its cloud (the SDK's rule).
        self._any_tenant = tenant in ("common", "organizations")
        self._gov = is_gov_authority(configuration.AUTHORITY)
        self._sources = key_sources or KeySources.for_configuration(configuration)
        self._key_sets = {
            uri: SigningKeys(uri, session=self._http) for uri in (self._sources.botframework, self._sources.entra)
        }
        self._client: ClientSession | None = None

    def _http(self) -> ClientSession:
        if self._client is None or self._client.closed:
            self._client = ClientSession()
        return self._client

    async def close(self) -> None:
        for key_set in self._key_sets.values():
            await key_set.stop()
        if self._client is not None:
            await self._client.close()

    async def identity(self, authorization: str | None) -> ClaimsIdentity | None:
        """The caller's identity, or None for a request to refuse."""
        token = _bearer_token(authorization)
        if token is None:
            return None
        try:
            unverified = jwt.decode_complete(token, options={"verify_signature": False})
        except (jwt.PyJWTError, ValueError, TypeError):
            return None
        header, claims = unverified["header"], unverified["payload"]
        kid = header.get("kid")
        if header.get("alg") not in ALGORITHMS or not isinstance(kid, str) or not 0 < len(kid) <= MAX_KEY_ID_CHARS:
            return None
        # On unverified claims only to refuse early; what is accepted rests on the verified ones below.
        expiry = claims.get("exp")
        if not self._claims_accepted(claims) or not isinstance(expiry, (int, float)) or not math.isfinite(expiry):
            return None
        if expiry + CLOCK_SKEW_S < time.time():
            return None
        key = await self._key_sets[self._sources.for_issuer(claims["iss"])].key(kid)
        if key is None:
            return None
        try:
            verified = jwt.decode(
                token, key=key, algorithms=ALGORITHMS, leeway=CLOCK_SKEW_S, options={"verify_aud": False, "require": ["exp"]}
            )
        except (jwt.PyJWTError, ValueError, TypeError):
            return None
        if not self._claims_accepted(verified):
            return None
        return ClaimsIdentity(verified, security_token=token)

    def _claims_accepted(self, claims: dict) -> bool:
        audience, issuer = claims.get("aud"), claims.get("iss")
        if not isinstance(audience, str) or audience.lower() != self._app_id or not isinstance(issuer, str):
            return False
        entra = entra_issuer_info(issuer)
        if issuer.lower() not in self._issuers and not (self._any_tenant and entra is not None and entra.gov in (None, self._gov)):
            return False
        # An Entra token's tenant must be its issuer's (the SDK's binding; no tid claim, no binding).
        tenant = claims.get("tid")
        return entra is None or not isinstance(tenant, str) or tenant.lower() == entra.tenant


class LocalAccess:
    """Local mode: the emulator sends no token, so none is what is accepted."""

    async def identity(self, authorization: str | None) -> ClaimsIdentity | None:
        return ClaimsIdentity() if authorization is None else None

    async def close(self) -> None:
        return None


def authorization_middleware(access: BotTokenValidator | LocalAccess):
    @web.middleware
    async def authorize(request: web.Request, handler) -> web.StreamResponse:
        identity = await access.identity(request.headers.get("Authorization"))
        if identity is None:
            return web.json_response(REFUSED, status=401, headers={"WWW-Authenticate": "Bearer"})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", web.NotAppKeyWarning)  # the SDK reads a plain string key
            request[CLAIMS_IDENTITY_KEY] = identity
        return await handler(request)

    return authorize
