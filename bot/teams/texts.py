"""Words the Teams adapter itself puts on cards (the conversation's own sentences live in handlers/texts.py).
A school can reword them here."""

from __future__ import annotations

QUOTES_HEADING = "From the policy"
QUOTE_SECTION = "{section}"  # shown above each quoted clause
QUOTE_TEXT = "“{text}”"
TRUNCATED = "…"
# The first choice of an optional "person" field: nobody picked.
PERSON_NOBODY = "Nobody"
# Shown under a required field left empty, when Teams checks the form before sending it.
REQUIRED_TEXT = "Please fill this in."
REQUIRED_CHOICE = "Please choose one."
FORM_CANCEL_HINT = "Nothing is sent until you press “{submit}”."
# In place of a form's screenshots field: a Teams card cannot take files, the chat can.
FILES_IN_CHAT = (
    "In Teams, screenshots are not added in this form. After you send it, you get a case code: then send "
    "the screenshots in this chat, in a message that says “add evidence to” and your case code."
)

# Shown by the command menu in Teams: teams/manifest.json holds the same list for the app package (a test
# checks they agree). Titles at most 32 characters, descriptions at most 128.
COMMANDS = (
    ("help", "What policybot can do"),
    ("Can I post photos of my class?", "An example question: ask in your own words"),
    ("I'm being harassed online", "How to report it, anonymously if you wish"),
    ("report", "Make a report, anonymously if you wish: harassment, a hacked account, leaked data"),
    ("status", "Follow up a report with its case code and secret"),
)
