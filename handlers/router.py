"""Decides which flow a neutral message goes to. It reads only the neutral message, never the platform.

What reaches the router is already addressed to the bot: every direct message, and in a channel only
@mentions and slash commands (the adapters see to that). Plain text there is a policy question.
"""

from __future__ import annotations

import re
from enum import Enum

from handlers import decision_texts, report_texts, texts
from handlers.ask_headteacher import typed_question
from handlers.follow_up import wants_to_add_evidence
from handlers.removal import wants_removal
from handlers.messages import IncomingMessage


class Route(str, Enum):
    EMPTY = "empty"
    HELP = "help"
    ASK = "ask"
    REPORT_OFFER = "report_offer"
    REPORT_START = "report_start"
    FOLLOW_UP = "follow_up"
    ADD_EVIDENCE = "add_evidence"
    CLICK = "click"
    FORM = "form"
    ASK_HEADTEACHER = "ask_headteacher"
    REMOVAL_START = "removal_start"
    DASHBOARD = "dashboard"


# Someone making or following up a report: nothing of these may be stored about the person.
PRIVATE_ROUTES = frozenset({Route.REPORT_OFFER, Route.REPORT_START, Route.FOLLOW_UP, Route.ADD_EVIDENCE})


_REPORT_PATTERN = re.compile(r"\b(?:" + "|".join(re.escape(word) for word in texts.REPORT_WORDS) + r")\b")
_HELP_PHRASES = frozenset(texts.HELP_WORDS)
_START_PHRASES = frozenset(report_texts.START_WORDS)
_FOLLOW_UP_PHRASES = frozenset(report_texts.FOLLOW_UP_WORDS)
_DASHBOARD_PHRASES = frozenset(decision_texts.DASHBOARD_WORDS)
_TRAILING_PUNCTUATION = " \t\r\n.!?"


def normalise(text: str) -> str:
    return " ".join(text.split())


def route(message: IncomingMessage) -> Route:
    if message.click is not None:
        return Route.CLICK
    if message.form is not None:
        return Route.FORM
    text = normalise(message.text)
    if wants_to_add_evidence(text) or (message.files and not text):
        return Route.ADD_EVIDENCE
    if not text:
        return Route.EMPTY
    lowered = text.lower()
    bare = lowered.rstrip(_TRAILING_PUNCTUATION)
    if lowered in _HELP_PHRASES or bare in _HELP_PHRASES:
        return Route.HELP
    if bare in _START_PHRASES:
        return Route.REPORT_START
    if bare in _FOLLOW_UP_PHRASES:
        return Route.FOLLOW_UP
    if bare in _DASHBOARD_PHRASES:
        return Route.DASHBOARD
    if typed_question(text) is not None:
        return Route.ASK_HEADTEACHER
    if wants_removal(message.text):
        return Route.REMOVAL_START
    if wants_to_report(lowered):
        return Route.REPORT_OFFER
    return Route.ASK


def wants_to_report(text: str) -> bool:
    return bool(_REPORT_PATTERN.search(text.lower()))
