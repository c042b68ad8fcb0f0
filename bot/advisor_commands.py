"""`policybot ask` and `policybot kb check`. Cheap to import: the advisor loads
only when a command runs."""

from __future__ import annotations

import argparse
import json
import sys

from bot import cli_texts
from handlers import texts as handler_texts


def register(subparsers) -> None:
    ask = subparsers.add_parser("ask", help="answer one question (or one per line from stdin with '-')")
    ask.add_argument("question", nargs="*", help="the question; '-' reads one question per line from stdin")
    ask.add_argument("--json", action="store_true", help="print one JSON object per answer")
    ask.set_defaults(handler=run_ask)

    kb = subparsers.add_parser("kb", help="check the curated knowledge against the policy")
    kb_commands = kb.add_subparsers(dest="kb_command", metavar="KB_COMMAND", required=True)
    check = kb_commands.add_parser("check", help="list quotes the policy document does not contain")
    check.set_defaults(handler=run_kb_check)


def load_advisor():
    """The advisor for the configured policy, or None after printing one clear line."""
    from bot.config import settings_or_explain
    from policy_kb.advisor import Advisor
    from policy_kb.errors import PolicyLoadError

    settings = settings_or_explain()
    if settings is None:
        return None
    try:
        return Advisor.load(settings=settings)
    except PolicyLoadError as error:
        print(f"policybot: {error}", file=sys.stderr)
    return None


def run_ask(args: argparse.Namespace) -> int:
    advisor = load_advisor()
    if advisor is None:
        return 2
    if args.question == ["-"]:
        for line in sys.stdin:
            _print_answer(advisor, line.rstrip("\n"), as_json=args.json)
            sys.stdout.flush()
        return 0
    question = " ".join(args.question).strip()
    if not question:
        if args.json:
            _print_answer(advisor, "", as_json=True)
        else:
            print(handler_texts.EMPTY_QUESTION)
        return 0
    _print_answer(advisor, question, as_json=args.json)
    return 0


def run_kb_check(args: argparse.Namespace) -> int:
    from bot.config import get_settings
    from policy_kb.knowledge import BUNDLED_KNOWLEDGE

    advisor = load_advisor()
    if advisor is None:
        return 2
    knowledge_path = get_settings().knowledge_path or BUNDLED_KNOWLEDGE
    problems = advisor.knowledge.problems
    count = sum(len(s.citations) for s in advisor.knowledge.situations) + len(problems)
    for problem in problems:
        print(cli_texts.KB_QUOTE_MISSING.format(owner=problem.situation_id, quote=problem.quote))
    if problems:
        print(cli_texts.KB_SUMMARY.format(missing=len(problems), count=count, policy=advisor.document.source))
        return 1
    print(cli_texts.KB_ALL_QUOTES_FOUND.format(count=count, knowledge=knowledge_path, policy=advisor.document.source))
    return 0


def _print_answer(advisor, question: str, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(advisor.ask(question).to_dict(), ensure_ascii=False))
    elif not question.strip():
        print(handler_texts.EMPTY_QUESTION)
    else:
        print(readable(advisor, question))


def readable(advisor, question: str) -> str:
    """The answer as the conversation gives it, without its buttons (there is nothing to click here)."""
    from dataclasses import replace

    from bot.config import get_settings
    from bot.terminal import render
    from handlers.ask import answer_reply

    reply = answer_reply(
        answer=advisor.ask(question), question=question, private=False, headteacher=get_settings().headteacher_name
    )
    return render(replace(reply, buttons=(), facts=()))
