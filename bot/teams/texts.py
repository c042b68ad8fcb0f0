"""Words the Teams adapter itself puts on cards (the conversation's own sentences live in handlers/texts.py).
A school can reword them here."""

from __future__ import annotations

QUOTES_HEADING = "From the policy"
QUOTE_SECTION = "{section}"  # shown above each quoted clause
QUOTE_TEXT = "“{text}”"
TRUNCATED = "…"
FORM_CANCEL_HINT = "Nothing is sent until you press “{submit}”."

# Shown by the command menu in Teams (teams/manifest.json holds the same list for the app package).
COMMANDS = (
    ("help", "What I can do"),
    ("Can I post photos of my class?", "An example question"),
)
