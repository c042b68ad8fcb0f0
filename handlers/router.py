"""Decides which flow a neutral message goes to. It reads only the neutral message, never the platform.

What reaches the router is already addressed to the bot: every direct message, and in a channel only
@mentions and slash commands (the adapters see to that). Plain text there is a policy question.
"""

from __future__ import annotations

import re
from enum import Enum

from handlers import actions, texts
from handlers.messages import IncomingMessage


class Route(str, Enum):
    EMPTY = "empty"
    HELP = "help"
    ASK = "ask"
    REPORT_OFFER = "report_offer"
    CLICK = "click"
    UNKNOWN_CLICK = "unknown_click"
    FORM = "form"


_REPORT_PATTERN = re.compile(r"\b(?:" + "|".join(re.escape(word) for word in texts.REPORT_WORDS) + r")\b")
_HELP_PHRASES = frozenset(texts.HELP_WORDS)
_TRAILING_PUNCTUATION = " \t\r\n.!?"


def normalise(text: str) -> str:
    return " ".join(text.split())


def route(message: IncomingMessage) -> Route:
    if message.click is not None:
        return Route.CLICK if message.click.action_id in actions.ALL else Route.UNKNOWN_CLICK
    if message.form is not None:
        return Route.FORM
    text = normalise(message.text)
    if not text:
        return Route.EMPTY
    lowered = text.lower()
    if lowered in _HELP_PHRASES or lowered.rstrip(_TRAILING_PUNCTUATION) in _HELP_PHRASES:
        return Route.HELP
    if wants_to_report(lowered):
        return Route.REPORT_OFFER
    return Route.ASK


def wants_to_report(text: str) -> bool:
    return bool(_REPORT_PATTERN.search(text.lower()))
