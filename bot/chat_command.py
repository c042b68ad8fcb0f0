"""`policybot chat`: the conversation in a terminal. Cheap to import: the core loads when the command runs."""

from __future__ import annotations

import sys


def register(subparsers) -> None:
    parser = subparsers.add_parser("chat", help="talk to policybot in this terminal (the same conversation as Slack and Teams)")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from bot.config import settings_or_explain
    from policy_kb.errors import PolicyLoadError
    from storage.errors import DatabaseOpenError

    settings = settings_or_explain()
    if settings is None:
        return 2
    import asyncio

    from bot.terminal import chat

    try:
        return asyncio.run(chat(settings))
    except (PolicyLoadError, DatabaseOpenError) as error:
        print(f"policybot: {error}", file=sys.stderr)
        return 2
