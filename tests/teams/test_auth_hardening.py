"""/api/messages under hostile tokens: tokens signed with a key generated here, checked against a loopback
stand-in for the Bot Framework's and Entra's key sets (JWKS), through the real aiohttp app and core.

What must hold: a genuine request is answered quickly while junk tokens with unknown key ids pour in, even
while one of Microsoft's key sets is slow and failing (behind the SDK's middleware it waited 14 s there:
a fetch per junk token, one at a time, in worker threads), each key set fetched at most once meanwhile;
every kind of bad token is a 401 that stores nothing and logs no traceback."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st
from microsoft_agents.hosting.core.authorization import AgentAuthConfiguration
from sqlmodel import SQLModel, func, select

from bot.teams.auth import BotTokenValidator, KeySources, SigningKeys
from bot.teams.routes import teams_subapp

from .conftest import RunningApp, local_settings
from .test_auth_and_server import APP_ID, CLIENT_SECRET, TENANT_ID

BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
KNOWN_KID = "bf-signing-key-1"
OUTGOING_TOKEN = "outgoing-token-for-the-bot-connector"
JUNK_REQUESTS = 40
# Microsoft's key endpoints answer in a few hundred milliseconds; a slow answer is what made fetches queue.
KEY_SET_LATENCY_S = 0.4


SIGNING_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
STRANGER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # an attacker's


def public_jwk(private_key: rsa.RSAPrivateKey, kid: str) -> dict:
    return {**jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True), "kid": kid, "use": "sig"}


@dataclass
class KeySetServer:
    """Loopback stand-in for login.botframework.com and login.microsoftonline.com's key sets."""

    url: str = ""
    keys: list[dict] = field(default_factory=lambda: [public_jwk(SIGNING_KEY, KNOWN_KID)])
    fetches: list[str] = field(default_factory=list)
    latency_s: float = 0.0
    down: set[str] = field(default_factory=set)  # sources ("entra", "botframework") answering 503
    body: bytes | None = None  # answered instead of the keys

    async def handle(self, request: web.Request) -> web.Response:
        self.fetches.append(request.path)
        await asyncio.sleep(self.latency_s)
        if request.match_info["source"] in self.down:
            return web.Response(status=503)
        if self.body is not None:
            return web.Response(body=self.body, content_type="application/json")
        return web.json_response({"keys": self.keys})

    @property
    def sources(self) -> KeySources:
        return KeySources(botframework=f"{self.url}/botframework/keys", entra=f"{self.url}/entra/keys")


@pytest.fixture
async def key_server():
    server = KeySetServer()
    app = web.Application()
    app.router.add_get("/{source}/keys", server.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    yield server
    await runner.cleanup()


@pytest.fixture
def outgoing_tokens(monkeypatch) -> list[tuple[str, list[str]]]:
    """The bot's own tokens for its replies come from MSAL (login.microsoftonline.com): answered here."""
    from microsoft_agents.authentication.msal import MsalAuth

    asked: list[tuple[str, list[str]]] = []

    async def get_access_token(self, resource_url, scopes, force_refresh=False):
        asked.append((resource_url, list(scopes)))
        return OUTGOING_TOKEN

    monkeypatch.setattr(MsalAuth, "get_access_token", get_access_token)
    return asked


@asynccontextmanager
async def authenticated_bot(tmp_path, core, key_server: KeySetServer):
    """The Teams endpoint with credentials, its keys from `key_server`, served on loopback."""
    settings = local_settings(tmp_path, microsoft_app_id=APP_ID, **CLIENT_SECRET)
    app = web.Application()
    subapp, authenticated = teams_subapp(settings=settings, core=core, key_sources=key_server.sources)
    assert authenticated
    app.add_subapp("/api", subapp)
    running = await RunningApp(app).start()
    try:
        yield running
    finally:
        await running.close()


def claims(**changes) -> dict:
    now = int(time.time())
    made = {"iss": BOT_FRAMEWORK_ISSUER, "aud": APP_ID, "iat": now - 60, "nbf": now - 60, "exp": now + 3600,
            "serviceurl": "https://smba.trafficmanager.net/uk/"}
    made.update(changes)
    return {name: value for name, value in made.items() if value is not None}


def token(*, key=SIGNING_KEY, kid: object = KNOWN_KID, **claim_changes) -> str:
    headers = {} if kid is None else {"kid": kid}
    return jwt.encode(claims(**claim_changes), key, algorithm="RS256", headers=headers)


def _segment(value: object) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unsigned(header: object, payload: object, signature: bytes = b"") -> str:
    return f"{_segment(header)}.{_segment(payload)}.{_segment(signature) if signature else ''}"


def rs256(header: dict, payload: object, key: rsa.RSAPrivateKey = SIGNING_KEY) -> str:
    """Signed as PyJWT would, with a header PyJWT would refuse to write."""
    signing_input = f"{_segment(header)}.{_segment(payload)}"
    return f"{signing_input}.{_segment(key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()))}"


def hs256_with_the_public_key() -> str:
    """Algorithm confusion: an HMAC 'signature' whose secret is the (public) signing key."""
    secret = SIGNING_KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = f"{_segment({'alg': 'HS256', 'typ': 'JWT', 'kid': KNOWN_KID})}.{_segment(claims())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_segment(signature)}"


def bearer(value: str) -> dict:
    return {"Authorization": f"Bearer {value}"}


HOSTILE = {
    "missing": {},
    "not-bearer": {"Authorization": "Basic dXNlcjpwYXNz"},
    "empty-bearer": {"Authorization": "Bearer "},
    "garbage": bearer("not-a-jwt"),
    "three-garbage-segments": bearer("a.b.c"),
    "header-not-json": bearer(f"{_segment(b'not json')}.{_segment(claims())}.c2ln"),
    "alg-none": bearer(unsigned({"alg": "none", "typ": "JWT", "kid": KNOWN_KID}, claims())),
    "alg-none-without-kid": bearer(unsigned({"alg": "none", "typ": "JWT"}, claims())),
    "hs256-with-public-key": bearer(hs256_with_the_public_key()),
    "self-signed-known-kid": bearer(token(key=STRANGER_KEY)),
    "self-signed-unknown-kid": bearer(token(key=STRANGER_KEY, kid="strangers-key")),
    "no-kid": bearer(token(kid=None)),
    "kid-not-a-string": bearer(rs256({"alg": "RS256", "kid": 12345}, claims())),
    "payload-a-list": bearer(rs256({"alg": "RS256", "kid": KNOWN_KID}, [1, 2, 3])),
    "expired": bearer(token(exp=int(time.time()) - 3600)),
    "without-expiry": bearer(token(exp=None)),
    "not-yet-valid": bearer(token(nbf=int(time.time()) + 3600)),
    "wrong-audience": bearer(token(aud="00000000-1111-2222-3333-444444444444")),
    "audience-a-list": bearer(token(aud=[APP_ID])),
    "wrong-issuer": bearer(token(iss="https://login.evil.example")),
    "entra-tenant-mismatch": bearer(
        token(iss="https://login.microsoftonline.com/d6d49420-f39b-4df7-a1dc-d59a935871db/v2.0",
              tid="11111111-2222-3333-4444-555555555555")
    ),
}


async def row_counts(core) -> dict[str, int]:
    async with core.database.transaction() as session:
        return {
            table.name: (await session.exec(select(func.count()).select_from(table))).one()
            for table in SQLModel.metadata.sorted_tables
        }


def everything_logged(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("microsoft_agents", "aiohttp", "bot", "handlers", "storage"):
        caplog.set_level(logging.DEBUG, logger=name)


ENTRA_ISSUER = "https://login.microsoftonline.com/d6d49420-f39b-4df7-a1dc-d59a935871db/v2.0"


@pytest.mark.parametrize(
    ("junk_claims", "down"),
    [({}, set()), ({"iss": ENTRA_ISSUER}, {"entra"})],
    ids=["unknown-key-ids", "unknown-key-ids-while-entra-keys-are-down"],
)
async def test_a_genuine_request_is_answered_quickly_while_junk_tokens_pour_in(
    tmp_path, core, connector, activity, key_server, outgoing_tokens, junk_claims, down
):
    key_server.latency_s = KEY_SET_LATENCY_S
    async with authenticated_bot(tmp_path, core, key_server) as bot:
        first = await bot.post_activity(activity("message_personal", id="genuine-0"), **bearer(token()))
        assert first.status in (200, 202)
        await connector.wait_for(1)
        key_server.down = down

        junk = [
            asyncio.create_task(
                bot.post_activity(
                    activity("message_personal", id=f"junk-{n}"),
                    **bearer(token(key=STRANGER_KEY, kid=f"junk-kid-{n}", **junk_claims)),
                )
            )
            for n in range(JUNK_REQUESTS)
        ]
        await asyncio.sleep(0.05)  # the junk is in flight first
        started = time.monotonic()
        genuine = await asyncio.wait_for(
            bot.post_activity(activity("message_personal", id="genuine-1"), **bearer(token())), timeout=60
        )
        waited = time.monotonic() - started
        junk_statuses = [response.status for response in await asyncio.gather(*junk)]

    assert genuine.status in (200, 202)
    assert waited < 2.0, f"the genuine request waited {waited:.1f} s behind junk tokens"
    assert junk_statuses == [401] * JUNK_REQUESTS
    assert len(key_server.fetches) <= 2, key_server.fetches  # the first request's, and one for the junk's key set
    # The reply went out with the bot's own token, asked for the caller's audience: the claims were handed on.
    await connector.wait_for(2)
    assert len(connector.messages()) == 2
    assert outgoing_tokens and outgoing_tokens[0][0] == BOT_FRAMEWORK_ISSUER


@pytest.mark.parametrize(
    "issuer_claims",
    [{}, {"iss": ENTRA_ISSUER, "tid": "d6d49420-f39b-4df7-a1dc-d59a935871db"}],
    ids=["bot-framework", "entra"],
)
async def test_a_genuine_token_of_either_issuer_is_accepted_with_keys_from_its_own_key_set(
    tmp_path, core, connector, activity, key_server, outgoing_tokens, issuer_claims
):
    async with authenticated_bot(tmp_path, core, key_server) as bot:
        response = await bot.post_activity(activity("message_personal", id="genuine-1"), **bearer(token(**issuer_claims)))
        await connector.wait_for(1)

    assert response.status in (200, 202)
    assert key_server.fetches == ["/entra/keys" if issuer_claims else "/botframework/keys"]
    assert len(connector.messages()) == 1 and outgoing_tokens


@pytest.mark.parametrize("headers", list(HOSTILE.values()), ids=list(HOSTILE))
async def test_a_hostile_token_is_a_bare_401_that_stores_and_logs_nothing(
    tmp_path, core, connector, activity, key_server, outgoing_tokens, caplog, headers
):
    everything_logged(caplog)
    before = await row_counts(core)
    assert before  # every table is counted
    async with authenticated_bot(tmp_path, core, key_server) as bot:
        response = await bot.post_activity(activity("message_personal", id="hostile-1"), **headers)
        body = await response.text()

    assert response.status == 401 and "Traceback" not in body
    assert connector.calls == [] and outgoing_tokens == []
    assert await row_counts(core) == before
    assert not [record for record in caplog.records if record.exc_info or "Traceback" in record.getMessage()]
    sent = headers.get("Authorization", "").partition(" ")[2]
    assert not sent or sent not in caplog.text
    assert "Can I put photos" not in caplog.text  # the body was neither read into a log nor parsed
    assert len(key_server.fetches) <= 1


async def test_local_mode_still_takes_requests_without_a_token_and_refuses_tokens(tmp_path, core, connector, activity):
    app = web.Application()
    subapp, authenticated = teams_subapp(settings=local_settings(tmp_path), core=core)
    app.add_subapp("/api", subapp)
    running = await RunningApp(app).start()
    try:
        anonymous = await running.post_activity(activity("message_personal", id="local-1"))
        await connector.wait_for(1)
        with_token = await running.post_activity(activity("message_personal", id="local-2"), **bearer(token()))
    finally:
        await running.close()

    assert not authenticated
    assert anonymous.status in (200, 202) and with_token.status == 401
    assert len(connector.messages()) == 1


# The key cache on its own, with a clock the test moves.


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def http():
    import aiohttp

    session = aiohttp.ClientSession()
    yield session
    await session.close()


async def test_an_unknown_key_id_refreshes_the_keys_at_most_once_a_minute(key_server, http):
    clock = Clock()
    keys = SigningKeys(f"{key_server.url}/botframework/keys", session=lambda: http, clock=clock)

    assert await keys.key(KNOWN_KID) is not None
    key_server.keys.append(public_jwk(STRANGER_KEY, "rotated-in"))
    clock.now += 30
    assert await keys.key("rotated-in") is None  # within a minute of the last fetch: refused without one
    assert len(key_server.fetches) == 1
    clock.now += 31
    assert await keys.key("rotated-in") is not None  # a minute on, an unknown key id refreshes the set
    assert await keys.key("still-unknown") is None
    assert len(key_server.fetches) == 2


async def test_concurrent_lookups_share_one_fetch(key_server, http):
    key_server.latency_s = 0.2
    keys = SigningKeys(f"{key_server.url}/botframework/keys", session=lambda: http, clock=Clock())

    found = await asyncio.gather(*(keys.key(KNOWN_KID if n % 2 else f"junk-{n}") for n in range(50)))

    assert len(key_server.fetches) == 1
    assert [key is not None for key in found] == [n % 2 == 1 for n in range(50)]


async def test_day_old_keys_serve_while_a_background_refresh_replaces_them(key_server, http):
    clock = Clock()
    keys = SigningKeys(f"{key_server.url}/botframework/keys", session=lambda: http, clock=clock)
    assert await keys.key(KNOWN_KID) is not None
    key_server.keys = [public_jwk(STRANGER_KEY, "next-key")]
    key_server.latency_s = 0.5

    clock.now += 24 * 3600
    started = time.monotonic()
    assert await keys.key(KNOWN_KID) is not None  # at once, from the cache
    assert time.monotonic() - started < 0.3
    for _ in range(100):
        if await keys.key("next-key") is not None:
            break
        await asyncio.sleep(0.05)
    assert len(key_server.fetches) == 2
    assert await keys.key(KNOWN_KID) is None  # the refreshed set no longer has it


@pytest.mark.parametrize(
    "answer", [b"not json", b'{"keys": "none"}', b'{"keys": [{"kty": "oct", "kid": "k", "k": "c2VjcmV0"}]}', b"[" + b" " * 300_000 + b"]"],
    ids=["not-json", "not-a-key-set", "no-rsa-key", "too-large"],
)
async def test_a_bad_key_set_refuses_without_a_traceback(key_server, http, caplog, answer):
    everything_logged(caplog)
    key_server.body = answer
    keys = SigningKeys(f"{key_server.url}/botframework/keys", session=lambda: http, clock=Clock())

    assert await keys.key(KNOWN_KID) is None
    assert await keys.key(KNOWN_KID) is None  # and not fetched again at once
    assert len(key_server.fetches) == 1
    assert not [record for record in caplog.records if record.exc_info]


async def test_an_unreachable_key_set_refuses_without_a_traceback(http, caplog):
    everything_logged(caplog)
    keys = SigningKeys("http://127.0.0.1:9/keys", session=lambda: http, clock=Clock())

    assert await keys.key(KNOWN_KID) is None
    assert not [record for record in caplog.records if record.exc_info]


@hypothesis_settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    authorization=st.one_of(
        st.none(),
        st.text(),
        st.builds(lambda text: f"Bearer {text}", st.text()),
        st.builds(
            lambda parts: "Bearer " + ".".join(parts),
            st.lists(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=", max_size=40), min_size=1, max_size=4),
        ),
        st.builds(
            lambda header, payload: "Bearer " + unsigned(header, payload, b"x"),
            st.dictionaries(st.sampled_from(["alg", "kid", "typ", "crit"]), st.one_of(st.text(max_size=10), st.integers(), st.none())),
            st.dictionaries(st.sampled_from(["iss", "aud", "exp", "nbf", "tid"]), st.one_of(st.text(max_size=10), st.integers(), st.floats(), st.none())),
        ),
    )
)
async def test_any_authorization_header_is_refused_without_raising_or_fetching(key_server, authorization):
    validator = BotTokenValidator(
        AgentAuthConfiguration(client_id=APP_ID, tenant_id=TENANT_ID, client_secret="secret"), key_sources=key_server.sources
    )
    try:
        assert await validator.identity(authorization) is None
    finally:
        await validator.close()
    assert key_server.fetches == []
