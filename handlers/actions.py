"""Action ids of the buttons flows put on replies, and the small JSON values they carry.

Adapters pass `Button.action_id` and `Button.value` through unchanged and hand them back as a
`ButtonClick`; only the flows read the values. A value must stay under Slack's 2 000-character limit.
"""

from __future__ import annotations

import json

ASK_HEADTEACHER = "policybot.ask_headteacher"
FEEDBACK_HELPFUL = "policybot.feedback_helpful"
FEEDBACK_NOT_HELPFUL = "policybot.feedback_not_helpful"
START_REPORT = "policybot.start_report"

ALL = (ASK_HEADTEACHER, FEEDBACK_HELPFUL, FEEDBACK_NOT_HELPFUL, START_REPORT)

MAX_VALUE_CHARS = 2000
_TRUNCATED = "…"


def encode(data: dict) -> str:
    """A compact JSON value; a long "question" is shortened until the whole value fits."""
    value = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    question = data.get("question", "")
    while len(value) > MAX_VALUE_CHARS and question:
        # JSON escaping can make the value longer than the text: shorten by what is over, at least 50.
        excess = max(len(value) - MAX_VALUE_CHARS, 50)
        question = question[: max(len(question) - excess - len(_TRUNCATED), 0)]
        data = {**data, "question": question + _TRUNCATED if question else ""}
        value = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return value


def decode(value: str) -> dict | None:
    """The data of a button value, or None when it is not one of ours (old, edited or forged)."""
    try:
        data = json.loads(value)
    except (TypeError, ValueError):
        return None
    return data if isinstance(data, dict) else None
