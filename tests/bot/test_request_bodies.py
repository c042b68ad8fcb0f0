"""Request bodies are capped at what each platform really sends, refused before they are read, and only so
many bytes of them are held at once: the real app on a loopback port, driven over raw sockets."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot import server
from bot.config import Settings
from handlers.core import ConversationCore


@pytest.fixture
async def running(tmp_path: Path):
    """(app, base address) of the local-mode server: Teams at /api/messages, no authentication."""
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{tmp_path}/policybot.db",
        encryption_key_file=tmp_path / "encryption.key",
    )
    core = await ConversationCore.start(settings=settings)
    app = server.build_app(settings=settings, core=core)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        yield app, port
    finally:
        await runner.cleanup()
        await core.close()


async def _send_headers(port: int, *, path: str, length: int | None):
    """Open a connection and send a POST's headers only: the body never comes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    size = "Transfer-Encoding: chunked" if length is None else f"Content-Length: {length}"
    writer.write(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{size}\r\n\r\n".encode())
    await writer.drain()
    return reader, writer


async def _status(reader: asyncio.StreamReader) -> int:
    line = await asyncio.wait_for(reader.readline(), timeout=3)
    return int(line.split()[1])


@pytest.mark.parametrize(("path", "cap"), [("/api/messages", server.TEAMS_MAX_BODY_BYTES), ("/slack/events", server.SLACK_MAX_BODY_BYTES)])
async def test_a_body_announced_over_its_cap_is_refused_before_it_is_read(running, path, cap):
    _app, port = running
    reader, writer = await _send_headers(port, path=path, length=cap + 1)
    try:
        assert await _status(reader) == 413  # answered with no body sent: nothing was waited for
    finally:
        writer.close()


async def test_the_caps_are_what_the_platforms_send():
    # Teams: the Bot Connector refuses more than 262 144 bytes; Slack: 40 000 characters, twice, in UTF-8.
    assert server.TEAMS_MAX_BODY_BYTES == 262_144
    assert 2 * 40_000 * 4 <= server.SLACK_MAX_BODY_BYTES < 1024**2
    assert server.body_cap("/healthz") == server.OTHER_MAX_BODY_BYTES


async def test_a_chunked_body_is_cut_off_at_its_cap(running):
    _app, port = running

    async def chunks():
        for _ in range(server.TEAMS_MAX_BODY_BYTES // 16_384 + 2):
            yield b" " * 16_384

    async with aiohttp.ClientSession() as session:
        async with session.post(f"http://127.0.0.1:{port}/api/messages", data=chunks()) as response:
            assert response.status == 413


async def test_a_body_within_its_cap_still_reaches_the_bot(running):
    _app, port = running
    # No serviceUrl, so nothing is sent anywhere: the Teams route itself refuses it, past the body checks.
    body = json.dumps({"type": "message", "text": "x" * 200_000}).encode()
    async with aiohttp.ClientSession() as session:
        async with session.post(f"http://127.0.0.1:{port}/api/messages", data=body, headers={"Content-Type": "application/json"}) as response:
            assert response.status == 400
            assert "serviceUrl" in await response.text()


async def test_while_the_bound_is_held_more_bodies_get_503_quickly_and_then_get_through(running):
    app, port = running
    limits = app[server.BODY_LIMITS_KEY]
    cap = server.TEAMS_MAX_BODY_BYTES
    limits.in_hand_bytes, limits.wait_seconds = 2 * cap, 0.1
    # Two hostile near-cap bodies that never arrive hold the whole bound.
    holders = [await _send_headers(port, path="/api/messages", length=cap) for _ in range(2)]
    for _ in range(100):
        if limits.held == 2 * cap:
            break
        await asyncio.sleep(0.02)
    assert limits.held == 2 * cap
    for length in (cap, 100):
        reader, writer = await _send_headers(port, path="/api/messages", length=length)
        try:
            assert await _status(reader) == 503  # after waiting `wait_seconds` for room
            headers = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=3)).decode()
            assert "Retry-After: 1" in headers
        finally:
            writer.close()
    for _reader, writer in holders:
        writer.close()
    for _ in range(100):
        if limits.held == 0:
            break
        await asyncio.sleep(0.02)
    assert limits.held == 0
    reader, writer = await _send_headers(port, path="/api/messages", length=2)
    try:
        writer.write(b"{}")
        assert await _status(reader) == 400  # through the bound: the route refuses an empty activity
    finally:
        writer.close()


async def test_a_body_trickling_in_gives_its_share_back_after_the_read_timeout(running):
    app, port = running
    limits = app[server.BODY_LIMITS_KEY]
    limits.read_seconds = 0.2
    reader, writer = await _send_headers(port, path="/api/messages", length=1000)
    try:
        writer.write(b"{")
        assert await _status(reader) == 408
    finally:
        writer.close()
    assert limits.held == 0


async def test_a_request_waiting_for_room_gets_it_when_a_body_is_done(running):
    app, port = running
    limits = app[server.BODY_LIMITS_KEY]
    cap = server.TEAMS_MAX_BODY_BYTES
    limits.in_hand_bytes, limits.wait_seconds = cap, 5.0
    _holder_reader, holder = await _send_headers(port, path="/api/messages", length=cap)
    for _ in range(100):
        if limits.held == cap:
            break
        await asyncio.sleep(0.02)
    reader, writer = await _send_headers(port, path="/api/messages", length=2)
    try:
        writer.write(b"{}")
        await asyncio.sleep(0.1)
        holder.close()  # the hostile body gives its room back
        assert await _status(reader) == 400
    finally:
        writer.close()
