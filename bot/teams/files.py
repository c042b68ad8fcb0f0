"""Downloading what a person attached in Teams (a screenshot for a report), for the flows' `IncomingFile.fetch`.

- A data: URL (what a web client may send for a pasted picture) is decoded here, never fetched.
- A pasted picture's `contentUrl` is on the Bot Connector and wants the bot's token, got the way the SDK
  gets one for its connector client. The token is sent only over HTTPS to the Bot Framework's own hosts
  (or the host of the activity's service URL); anywhere else the request goes without it.
- A paperclip file's `downloadUrl` is pre-authorised (SharePoint/OneDrive) and is fetched without a token.
- With credentials (a real Teams), addresses must be HTTPS on Microsoft's hosts, checked before connecting
  and again for every redirect and resolved address (the SDK's `OutboundHostValidator`); in local mode
  (the emulator, on this machine) anything goes, and no token exists.
- Every download stops at MAX_BYTES and after TIMEOUT. Addresses are never logged nor put in an error:
  they can name a person's OneDrive.

Errors the flows may catch: `FileTooLarge` (a ValueError) and `FileUnavailable` (a ConnectionError).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import ClientError, ClientSession, ClientTimeout
from microsoft_agents.hosting.core.authorization import ClaimsIdentity
from microsoft_agents.hosting.core.security import OutboundHostValidator
from yarl import URL

from bot.teams.translate import FileSource, data_url_size, decode_data_url

log = logging.getLogger(__name__)

MAX_BYTES = 10 * 1024 * 1024
TIMEOUT = ClientTimeout(total=10, sock_connect=5)
MAX_REDIRECTS = 3
_CHUNK = 64 * 1024
# Where the bot's token may go: the Bot Connector and Teams' own services.
TOKEN_HOSTS = ("botframework.com", "botframework.us", "smba.trafficmanager.net", "teams.microsoft.com", "teams.microsoft.us")


class FileTooLarge(ValueError):
    def __init__(self) -> None:
        super().__init__(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB")


class FileUnavailable(ConnectionError):
    """The file could not be downloaded; the text never holds its address."""


# (claims identity, service URL) -> the bot's token, or None in anonymous local mode.
TokenSource = Callable[[ClaimsIdentity | None, str], Awaitable[str | None]]


def _host_matches(host: str, allowed: str) -> bool:
    return host == allowed or host.endswith("." + allowed)


def may_carry_token(url: str, *, service_url: str) -> bool:
    """The bot's token goes to the Bot Framework's hosts over HTTPS, and to no one else."""
    try:
        parsed, service = URL(url), URL(service_url)
    except (TypeError, ValueError):
        return False
    host = (parsed.host or "").casefold()
    if parsed.scheme != "https" or not host or parsed.user or parsed.password:
        return False
    service_host = (service.host or "").casefold() if service.scheme == "https" else ""
    return host == service_host or any(_host_matches(host, allowed) for allowed in TOKEN_HOSTS)


class FileDownloader:
    def __init__(self, *, tokens: TokenSource, authenticated: bool) -> None:
        self._tokens = tokens
        self._authenticated = authenticated
        # Credentials mean a real Teams: Microsoft's hosts only, no private addresses (SSRF).
        self._validator = OutboundHostValidator(enabled=True) if authenticated else None
        self._session: ClientSession | None = None

    def fetcher(self, *, identity: ClaimsIdentity | None, service_url: str) -> Callable[[FileSource], Callable[[], Awaitable[bytes]]]:
        """For one turn: turns each attachment's source into the `fetch` of its `IncomingFile`."""

        def for_source(source: FileSource) -> Callable[[], Awaitable[bytes]]:
            async def fetch() -> bytes:
                return await self.download(source, identity=identity, service_url=service_url)

            return fetch

        return for_source

    async def download(self, source: FileSource, *, identity: ClaimsIdentity | None, service_url: str) -> bytes:
        if source.url[:5].lower() == "data:":
            if data_url_size(source.url) > MAX_BYTES:
                raise FileTooLarge()
            try:
                data = decode_data_url(source.url)
            except ValueError:
                raise FileUnavailable("the attached picture is not readable") from None
            if len(data) > MAX_BYTES:
                raise FileTooLarge()
            return data
        try:
            URL(source.url)
        except (TypeError, ValueError):
            raise FileUnavailable("the file's address is not readable") from None
        if self._validator is not None and not self._validator.is_allowed(source.url):
            raise FileUnavailable("the file is not on a Microsoft address this bot downloads from")
        headers = {}
        if source.bot_token and may_carry_token(source.url, service_url=service_url):
            try:
                token = await self._tokens(identity, service_url)
            except Exception as error:
                raise FileUnavailable(f"no token to download the file ({type(error).__name__})") from None
            if token:
                headers["Authorization"] = f"Bearer {token}"
        try:
            async with self._client().get(
                source.url,
                headers=headers,
                # With a token, no redirects at all (aiohttp would drop it for another host, but a redirect
                # to a look-alike of the same host is not worth the risk); without one, a few, each checked.
                allow_redirects=not headers,
                max_redirects=MAX_REDIRECTS,
            ) as response:
                if response.status != 200:
                    raise FileUnavailable(f"the file could not be downloaded (HTTP {response.status})")
                if (response.content_length or 0) > MAX_BYTES:
                    raise FileTooLarge()
                body = bytearray()
                async for chunk in response.content.iter_chunked(_CHUNK):
                    body += chunk
                    if len(body) > MAX_BYTES:
                        raise FileTooLarge()
                return bytes(body)
        except (FileTooLarge, FileUnavailable):
            raise
        except asyncio.TimeoutError:
            raise FileUnavailable("the file took too long to download") from None
        except (ClientError, ValueError, OSError) as error:
            # aiohttp's errors name the address: say only what kind of failure it was.
            raise FileUnavailable(f"the file could not be downloaded ({type(error).__name__})") from None

    def _client(self) -> ClientSession:
        if self._session is None or self._session.closed:
            kwargs = {"timeout": TIMEOUT}
            self._session = self._validator.client(kwargs) if self._validator is not None else ClientSession(**kwargs)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
