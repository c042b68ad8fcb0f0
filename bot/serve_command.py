"""`policybot serve`: the one server for Slack and Teams (and local mode with the Teams emulator).
Cheap to import: the server, the core and the platform SDKs load when the command runs."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the bot for Slack and Teams (local mode with the Teams emulator when no credentials are set)",
        description="Start one web server with the routes of every configured platform, on PORT (default 3978).",
    )
    parser.add_argument(
        "--no-emulator", action="store_true", help="in local mode, do not start Microsoft's Teams emulator"
    )
    parser.set_defaults(handler=serve)


def settings_error_line(error) -> str:
    """One line from a pydantic ValidationError: the setting's name and what is wrong with it."""
    problems = []
    for item in error.errors():
        name = ".".join(str(part) for part in item.get("loc", ())).upper()
        message = str(item.get("msg", "invalid value")).removeprefix("Value error, ")
        problems.append(f"{name}: {message}" if name else message)
    return "invalid settings: " + "; ".join(problems)


def serve(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from bot.config import get_settings

    try:
        settings = get_settings()
    except ValidationError as error:
        print(f"policybot: {settings_error_line(error)}", file=sys.stderr)
        return 2
    from bot.server import run

    return run(settings, with_emulator=not args.no_emulator)
