"""The `policybot` command. Each area registers its own sub-commands; heavy imports stay inside them
so that `policybot ask` starts fast."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# Modules exposing `register(subparsers)`; each must be cheap to import.
COMMAND_MODULES = (
    "bot.advisor_commands",
    "bot.chat_command",
    "bot.serve_command",
    "storage.commands",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="policybot", description="The school's social-media policy assistant.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    try:
        return args.handler(args) or 0
    except BrokenPipeError:
        # The reader went away (`policybot ask ... | head`): nothing left to say to it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
