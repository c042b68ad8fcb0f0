"""A local stand-in for the Bot Framework Connector a Teams activity's `serviceUrl` points to: it records
every call the SDK makes (replies, card updates) and answers like the real service."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class ConnectorCall:
    method: str
    path: str
    body: dict
    client_port: int = 0  # the caller's TCP port: the same port means a kept-alive connection
    status: int = 200
    answered_id: str = ""  # the id the connector gave a new message ("" for a failed call)

    @property
    def message_id(self) -> str:
        """The id of the message this call made or changed: the id given to a new one, or the updated one's."""
        return self.path.rsplit("/", 1)[-1] if self.method == "PUT" else self.answered_id

    @property
    def card(self) -> dict | None:
        for attachment in self.body.get("attachments") or ():
            if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive":
                return attachment["content"]
        return None


@dataclass
class RecordingConnector:
    base_url: str = ""
    calls: list[ConnectorCall] = field(default_factory=list)
    # Statuses to answer the next calls with before answering normally, e.g. [429] to test back-off.
    fail_with: list[int] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _arrived: asyncio.Condition | None = None

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else {}
        status = self.fail_with.pop(0) if self.fail_with else 200
        answered_id = f"connector-activity-{next(self._ids)}" if status == 200 else ""
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self.calls.append(
            ConnectorCall(method=request.method, path=request.path, body=body, client_port=peer[1] if peer else 0,
                          status=status, answered_id=answered_id)
        )
        async with self._arrived:
            self._arrived.notify_all()
        if status != 200:
            return web.json_response({"error": {"code": "Throttled"}}, status=status, headers={"Retry-After": "0"})
        return web.json_response({"id": answered_id})

    async def wait_for(self, count: int, *, timeout: float = 5.0) -> list[ConnectorCall]:
        """The calls so far, once there are at least `count` of them."""
        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: len(self.calls) >= count), timeout)
        return list(self.calls)

    def messages(self) -> list[ConnectorCall]:
        return [call for call in self.calls if call.method == "POST" and call.body.get("type") == "message"]


async def start_recording_connector() -> tuple[RecordingConnector, web.AppRunner]:
    connector = RecordingConnector(_arrived=asyncio.Condition())
    app = web.Application()
    app.router.add_route("*", "/_connector/{tail:.*}", connector.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    connector.base_url = f"http://127.0.0.1:{port}/_connector"
    return connector, runner
