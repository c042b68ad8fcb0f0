"""Action ids of the buttons flows put on replies, and the small JSON values they carry.

Adapters pass `Button.action_id` and `Button.value` through unchanged and hand them back as a
`ButtonClick`; only the flows read the values. The core signs each value on the way out and checks it on
the way back (`handlers.signing`), so a signed value must stay under Slack's 2 000-character limit.
"""

from __future__ import annotations

import json

from handlers.signing import SIGNATURE_CHARS

ASK_HEADTEACHER = "policybot.ask_headteacher"
FEEDBACK_HELPFUL = "policybot.feedback_helpful"
FEEDBACK_NOT_HELPFUL = "policybot.feedback_not_helpful"
START_REPORT = "policybot.start_report"
# Reports: the reporter's side.
NOTED_SECRET = "policybot.noted_secret"
FOLLOW_UP = "policybot.follow_up"
# Reports: the side of whoever handles the case.
CASE_ACKNOWLEDGE = "policybot.case_acknowledge"
CASE_REPLY = "policybot.case_reply"
CASE_CLOSE = "policybot.case_close"
CASE_READ = "policybot.case_read"
# The headteacher's answer to an "Ask the headteacher" question; each opens a form for an optional note.
QUESTION_FINE = "policybot.question_fine"
QUESTION_DONT = "policybot.question_dont"
QUESTION_TALK = "policybot.question_talk"
# Removal: asking for it (a button, and the Slack message shortcut's callback id), deciding it, confirming it.
REMOVAL_START = "policybot.removal_start"
REMOVAL_APPROVE = "policybot.removal_approve"
REMOVAL_REJECT = "policybot.removal_reject"
REMOVAL_DONE = "policybot.removal_done"
DASHBOARD = "policybot.dashboard"

ALL = (
    ASK_HEADTEACHER, FEEDBACK_HELPFUL, FEEDBACK_NOT_HELPFUL, START_REPORT, NOTED_SECRET, FOLLOW_UP,
    CASE_ACKNOWLEDGE, CASE_REPLY, CASE_CLOSE, CASE_READ, QUESTION_FINE, QUESTION_DONT, QUESTION_TALK,
    REMOVAL_START, REMOVAL_APPROVE, REMOVAL_REJECT, REMOVAL_DONE, DASHBOARD,
)
# Buttons of someone making or following up a report: nothing about them may be stored or logged.
REPORTER_ACTIONS = frozenset({START_REPORT, NOTED_SECRET, FOLLOW_UP})

# Forms.
REPORT_FORM = "policybot.report_form"
FOLLOW_UP_FORM = "policybot.follow_up_form"
REPORTER_MESSAGE_FORM = "policybot.reporter_message_form"
CASE_REPLY_FORM = "policybot.case_reply_form"
CASE_CLOSE_FORM = "policybot.case_close_form"
ASK_FORM = "policybot.ask_form"
QUESTION_DECISION_FORM = "policybot.question_decision_form"
REMOVAL_FORM = "policybot.removal_form"
REMOVAL_REJECT_FORM = "policybot.removal_reject_form"
REPORTER_FORMS = frozenset({REPORT_FORM, FOLLOW_UP_FORM, REPORTER_MESSAGE_FORM})

SLACK_VALUE_CHARS = 2000
MAX_VALUE_CHARS = SLACK_VALUE_CHARS - SIGNATURE_CHARS
_TRUNCATED = "…"


def _dumps(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def encode(data: dict) -> str:
    """A compact JSON value; a long "question" is cut (marked with …) so the whole value fits."""
    value = _dumps(data)
    question = data.get("question", "")
    if len(value) <= MAX_VALUE_CHARS or not question:
        return value
    # JSON escaping makes the value longer than the text by an unknown amount: find the longest cut that fits.
    fits, too_long = 0, len(question)
    while too_long - fits > 1:
        middle = (fits + too_long) // 2
        if len(_dumps({**data, "question": question[:middle] + _TRUNCATED})) <= MAX_VALUE_CHARS:
            fits = middle
        else:
            too_long = middle
    return _dumps({**data, "question": question[:fits] + _TRUNCATED})


def decode(value: str) -> dict | None:
    """The data of a button value, or None when it is not one of ours (old, edited or forged)."""
    try:
        data = json.loads(value)
    except (TypeError, ValueError):
        return None
    return data if isinstance(data, dict) else None
