"""`policybot serve`: the one server for Slack and Teams (and local mode with the Teams emulator).
Cheap to import: the server, the core and the platform SDKs load when the command runs."""

from __future__ import annotations

import argparse


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


def serve(args: argparse.Namespace) -> int:
    from bot.config import settings_or_explain

    settings = settings_or_explain()
    if settings is None:
        return 2
    from bot.server import run

    return run(settings, with_emulator=not args.no_emulator)
