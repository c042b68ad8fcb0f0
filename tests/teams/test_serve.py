"""`policybot serve`: starting, answering /healthz, stopping, and one clear line for bad configuration."""

from __future__ import annotations

import argparse
import asyncio
import socket

import aiohttp
import pytest

from bot import serve_command
from bot.server import serve

from .conftest import local_settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def healthz(port: int) -> dict:
    """/healthz's answer, once the server started on `port` answers it."""
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    return await response.json()
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
    pytest.fail("the server did not start")


async def test_serve_starts_in_local_mode_and_stops(tmp_path, capsys):
    port = free_port()
    stop = asyncio.Event()
    server = asyncio.create_task(serve(local_settings(tmp_path, port=port), with_emulator=False, stop=stop))
    try:
        body = await healthz(port)
    finally:
        stop.set()
        await asyncio.wait_for(server, 10)

    assert body == {"status": "ok", "platforms": ["teams"], "local_mode": True}
    output = capsys.readouterr().out
    assert f"listening on http://127.0.0.1:{port}" in output
    assert "Local mode" in output


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"PORT": "not-a-port"}, "invalid settings: PORT"),
        ({"ENVIRONMENT": "production"}, "production needs Slack or Teams credentials"),
        ({"MICROSOFT_APP_ID": "3f5c8a9e-1b2d-4c6e-8f0a-1b2c3d4e5f60"}, "MICROSOFT_APP_ID is set without MICROSOFT_APP_PASSWORD"),
    ],
)
def test_bad_configuration_is_one_line_and_exit_status_2(monkeypatch, capsys, environment, message):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    status = serve_command.serve(argparse.Namespace(no_emulator=True))

    error = capsys.readouterr().err
    assert status == 2
    assert message in error
    assert error.count("\n") == 1 and error.startswith("policybot: ")


def test_a_busy_port_is_one_line_and_exit_status_2(monkeypatch, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        monkeypatch.setenv("PORT", str(busy.getsockname()[1]))

        status = serve_command.serve(argparse.Namespace(no_emulator=True))

    assert status == 2
    assert "set PORT to a free port" in capsys.readouterr().err
