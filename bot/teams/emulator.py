"""Microsoft's local Teams emulator (npm `@microsoft/m365agentsplayground`, installed by `make run` into the
project's node_modules) for local mode: a Teams-like chat in the browser, talking to our /api/messages.

Started with telemetry off (`--dt`, APPLICATION_INSIGHTS_NO_STATSBEAT) and without opening a browser
itself (TEAMSAPPTESTER_BROWSER=none): we print the address instead.

Its chat user: one person, `currentUser` of its built-in configuration (the YAML `defaultConfigFileContent`
in node_modules/@microsoft/m365agentsplayground/dist/index.js, version 0.2.28; `GET /_internal/v1/config`
answers it as `config.currentUser`). Their messages, card submits and invokes reach /api/messages with
`from: {"id": "user-id-0", "name": "Alex Wilber", "aadObjectId": "00000000-0000-0000-0000-0000000000020"}`;
the installationUpdate and conversationUpdate sent when the chat opens carry the id and aadObjectId, no name.
The personal chat takes messages, submits and invokes from this user only (any other id: 400 UserNotFound);
the five other users of the configuration (user-id-1 … user-id-5) are group chat and team members.
No command-line flag changes the user; a YAML file does (environment M365_AGENTS_PLAYGROUND_CONFIG_PATH, or
`.m365agentsplayground.yml` in its working directory; formerly TEAMS_APP_TEST_TOOL_CONFIG_PATH and
`.teamsapptesttool.yml`). We point those variables at a file that cannot exist, so the built-in user, and
the constants below, always hold, whatever file lies in the directory the server was started from.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "@microsoft/m365agentsplayground"
CLI_NAME = "agentsplayground"
# Without a free port the emulator silently picks another one, and says which on this line.
_LISTENING = re.compile(r"Listening on (\d+)")
START_TIMEOUT_S = 30.0

# The emulator's chat user (see above): local mode makes them the headteacher.
EMULATOR_USER_ID = "user-id-0"
EMULATOR_USER_NAME = "Alex Wilber"
EMULATOR_USER_AAD_OBJECT_ID = "00000000-0000-0000-0000-0000000000020"
EMULATOR_BOT_ID = "00000000-0000-0000-0000-00000000000011"
# Under /dev/null, which is no directory: never a file, so the emulator keeps its built-in configuration.
NO_CONFIG_FILE = str(Path(os.devnull) / "m365agentsplayground.yml")
_CONFIG_VARIABLES = ("M365_AGENTS_PLAYGROUND_CONFIG_PATH", "TEAMS_APP_TEST_TOOL_CONFIG_PATH")


class EmulatorUnavailable(RuntimeError):
    """Why the emulator cannot start; one line that says what to install."""


def cli_path(project_root: Path = PROJECT_ROOT) -> Path:
    return project_root / "node_modules" / ".bin" / CLI_NAME


def find_cli(project_root: Path = PROJECT_ROOT) -> Path:
    if shutil.which("node") is None:
        raise EmulatorUnavailable(
            "Node.js is not installed, so the Teams emulator cannot start (install Node.js 20+ and npm, then run `make run`)"
        )
    path = cli_path(project_root)
    if not path.exists():
        raise EmulatorUnavailable(f"the Teams emulator is not installed (run `npm install` in {project_root}, or `make run`)")
    return path


def free_port(*, preferred: int) -> int:
    """`preferred` when nothing listens there, otherwise a port the system hands out."""
    for candidate in (preferred, 0):
        with socket.socket() as probe:
            # As Node does: a port whose old connections linger in TIME_WAIT is free to listen on.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("", candidate))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise EmulatorUnavailable("no free port for the Teams emulator")


def emulator_environment(*, log_file: Path) -> dict[str, str]:
    return {
        **os.environ,
        "TEAMSAPPTESTER_BROWSER": "none",
        "APPLICATION_INSIGHTS_NO_STATSBEAT": "true",
        "M365_AGENTS_PLAYGROUND_LOGFILE": str(log_file),
        **{variable: NO_CONFIG_FILE for variable in _CONFIG_VARIABLES},
    }


@dataclass
class Emulator:
    process: asyncio.subprocess.Process
    port: int
    _drain: asyncio.Task
    _log_dir: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    async def start(
        cls, *, endpoint: str, port: int, log_file: Path | None = None, project_root: Path = PROJECT_ROOT
    ) -> "Emulator":
        cli = find_cli(project_root)
        log_dir = None
        if log_file is None:
            # Its log holds every message typed into the chat: keep it private and delete it on stop.
            log_dir = Path(tempfile.mkdtemp(prefix="policybot-emulator-"))
            log_file = log_dir / "emulator.log"
        log_file.parent.mkdir(parents=True, exist_ok=True)
        # Left to itself it silently moves to a random port when this one is taken, and the connector URL
        # we give it would then point nowhere: choose a free port first.
        port = free_port(preferred=port)
        process = await asyncio.create_subprocess_exec(
            str(cli), "-e", endpoint, "-c", "msteams", "-p", str(port), "--dt",
            "--service-url", f"http://127.0.0.1:{port}/_connector",
            env=emulator_environment(log_file=log_file),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            actual_port = await asyncio.wait_for(_read_port(process), START_TIMEOUT_S)
        except (asyncio.TimeoutError, EmulatorUnavailable):
            await _stop(process)
            raise EmulatorUnavailable(f"the Teams emulator did not start within {START_TIMEOUT_S:.0f} s (see {log_file})") from None
        if actual_port != port:
            await _stop(process)
            raise EmulatorUnavailable(f"the Teams emulator could not use port {port}; set TEAMS_EMULATOR_PORT to a free port")
        return cls(process=process, port=actual_port, _drain=asyncio.create_task(_discard(process)), _log_dir=log_dir)

    async def stop(self) -> None:
        self._drain.cancel()
        await _stop(self.process)
        if self._log_dir is not None:
            shutil.rmtree(self._log_dir, ignore_errors=True)


async def _read_port(process: asyncio.subprocess.Process) -> int:
    while line := await process.stdout.readline():
        if match := _LISTENING.search(line.decode(errors="replace")):
            return int(match.group(1))
    raise EmulatorUnavailable("the Teams emulator exited")


async def _discard(process: asyncio.subprocess.Process) -> None:
    # Its output logs the chat traffic (questions may name pupils): read it so it never blocks, keep none.
    with contextlib.suppress(Exception):
        while await process.stdout.readline():
            pass


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), 5)
    except asyncio.TimeoutError:
        process.kill()
        await process.wait()
