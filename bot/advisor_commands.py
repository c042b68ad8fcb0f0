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
    init = kb_commands.add_parser("init", help="read the rules from a policy and write them as a file the school can edit")
    init.add_argument("policy", help="the policy (.docx, .pdf, .md or .txt)")
    init.add_argument("--output", default="school-rules.toml", help="the rules file to write (default: school-rules.toml)")
    init.add_argument("--force", action="store_true", help="overwrite the rules file if it exists")
    init.set_defaults(handler=run_kb_init)
    review = kb_commands.add_parser("review", help="write a printable review sheet of the bot's answers (HTML)")
    review.add_argument("--policy", help="the policy to review (default: POLICY_PATH)")
    review.add_argument("--output", default="policy-review.html", help="the sheet to write (default: policy-review.html)")
    review.set_defaults(handler=run_kb_review)


def load_advisor(*, policy_path=None, announce: bool = False):
    """The advisor for the configured policy, or None after printing one clear line. `announce` prints
    what the policy decides on standard error (standard output may be a machine's)."""
    from bot.config import settings_or_explain
    from policy_kb.advisor import Advisor
    from policy_kb.errors import PolicyLoadError

    settings = settings_or_explain()
    if settings is None:
        return None
    if policy_path is not None:
        # A policy named on the command line is read on its own: the configured school's name and rules
        # file belong to the configured policy.
        settings = settings.model_copy(update={"policy_path": policy_path, "rules_path": None, "school_name": ""})
    try:
        advisor = Advisor.load(settings=settings)
    except PolicyLoadError as error:
        print(f"policybot: {error}", file=sys.stderr)
        return None
    for problem in advisor.rules.problems:
        print(cli_texts.KB_RULE_PROBLEM.format(owner=problem.situation_id, quote=problem.quote, reason=problem.reason), file=sys.stderr)
    if announce:
        print(rules_line(advisor), file=sys.stderr)
    return advisor


def run_ask(args: argparse.Namespace) -> int:
    advisor = load_advisor(announce=True)
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
    """Every quote the advisor would cite must be in the loaded policy. The school's own knowledge file
    and rules file are checked quote by quote; the bundled school's curated rules simply give way to rules
    read from another school's policy, which `kb check` says in one line."""
    from bot.config import get_settings
    from policy_kb.knowledge import BUNDLED_KNOWLEDGE

    advisor = load_advisor()
    if advisor is None:
        return 2
    own_knowledge = get_settings().knowledge_path
    knowledge_path = own_knowledge or BUNDLED_KNOWLEDGE
    checked = advisor.knowledge.problems if own_knowledge else ()
    problems = tuple(checked) + advisor.rules.problems
    count = sum(len(s.citations) for s in advisor.knowledge.situations) + len(problems)
    for problem in checked:
        print(cli_texts.KB_QUOTE_MISSING.format(owner=problem.situation_id, quote=problem.quote))
    for problem in advisor.rules.problems:
        # Not only missing quotes: a verdict or a limit the advisor does not know, with what it takes.
        print(cli_texts.KB_RULE_PROBLEM.format(owner=problem.situation_id, quote=problem.quote, reason=problem.reason))
    replaced = list(advisor.rules.sources.values()).count("derived")
    if replaced and not own_knowledge:
        print(cli_texts.KB_DERIVED.format(replaced=replaced, total=advisor.rules.total, policy=advisor.document.source))
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


def rules_line(advisor) -> str:
    """How many situations the loaded policy decides and how many it leaves to the headteacher."""
    from pathlib import Path

    summary = advisor.rules
    values = {
        "school": advisor.document.school_name or "your school", "policy": Path(advisor.document.source).name,
        "decided": summary.decided, "total": summary.total, "left": summary.left_to_headteacher,
    }
    template = cli_texts.RULES_LINE_CURATED if summary.left_to_headteacher == 0 else cli_texts.RULES_LINE
    return template.format(**values)


def run_kb_init(args: argparse.Namespace) -> int:
    from policy_kb.school_rules import rules_toml, unused_clauses

    advisor = load_advisor(policy_path=args.policy)
    if advisor is None:
        return 2
    summary = advisor.rules
    if not _write(args.output, rules_toml(advisor), force=args.force):
        return 2
    print(cli_texts.KB_INIT_WRITTEN.format(
        school=advisor.document.school_name or "your school", output=args.output, decided=summary.decided,
        total=summary.total, left=summary.left_to_headteacher, unused=len(unused_clauses(advisor)),
    ))
    return 0


def run_kb_review(args: argparse.Namespace) -> int:
    from policy_kb.school_rules import review_html

    advisor = load_advisor(policy_path=args.policy)
    if advisor is None:
        return 2
    sheet = review_html(advisor)
    if not _write(args.output, sheet, force=True):
        return 2
    print(cli_texts.KB_REVIEW_WRITTEN.format(output=args.output, pages=sheet.count("<section>") - 1))
    return 0


def _write(output, text: str, *, force: bool) -> bool:
    from pathlib import Path

    path = Path(output)
    if path.exists() and not force:
        print(cli_texts.KB_OUTPUT_EXISTS.format(output=path), file=sys.stderr)
        return False
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        print(cli_texts.KB_OUTPUT_UNWRITABLE.format(output=path, reason=error.strerror or error), file=sys.stderr)
        return False
    return True
