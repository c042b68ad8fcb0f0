"""Every sentence of the report flows (making a report, following it up, handling it), in one place so a
school can reword them. Placeholders in braces are filled in by the flows; keep them when rewording.
`{headteacher}`, `{chair}` and `{dsl}` are the names from settings."""

from __future__ import annotations

# --- Kinds of report: (value, label). The value is stored; the label is what people see. --------------
KINDS = (
    ("harassment_me", "Harassment or bullying of me"),
    ("harassment_colleague", "Harassment or bullying of a colleague"),
    ("school_content", "Content about the school"),
    ("pupil_safety", "A pupil's safety"),
    ("account_compromised", "A school account has been compromised"),
    ("data_leak", "Personal or confidential data has leaked"),
    ("other", "Something else"),
)
# A pupil's safety goes to the designated safeguarding lead at once; these need the school to act straight away.
SAFEGUARDING_KINDS = frozenset({"pupil_safety"})
URGENT_KINDS = frozenset({"pupil_safety", "account_compromised", "data_leak"})

IDENTITIES = (
    ("anonymous", "Anonymous: nobody will know it was me"),
    ("named", "With my name"),
    ("named_direct", "With my name, and message me directly about it"),
)

# --- Starting -------------------------------------------------------------------------------------------
START_TITLE = "Make a report"
START_BUTTON = "Make a report"
FOLLOW_UP_BUTTON = "Follow up on a report"
START_WITH_BUTTON = (
    "Reports are made in a private form: nothing you type in it appears in this chat. "
    "Press \"Make a report\" to open it."
)
START_IN_PRIVATE = (
    "To keep your report private, send me \"report\" in a direct message (or use /policy report), "
    "and I'll open a private form."
)
OFFER_TITLE = "I'm sorry this is happening"
OFFER = (
    "You don't have to deal with this alone. You can report it to me, anonymously if you prefer, in a "
    "private form; below is what the policy says."
)

# --- The form -------------------------------------------------------------------------------------------
FORM_TITLE = "Make a report"
FORM_SUBMIT = "Send report"
FORM_INTRO = (
    "Only {headteacher} (or the chair of governors, if it concerns the headteacher) will read this. "
    "Anonymous is the default: I keep nothing that could lead back to you. You'll get a case code and a "
    "secret to follow it up."
)
FIELD_WHAT = "What happened?"
FIELD_WHAT_PLACEHOLDER = "In your own words. You can add more afterwards."
FIELD_KIND = "What is it about?"
FIELD_WHERE = "Where? (the platform or app)"
FIELD_LINK = "A link to it, if there is one"
FIELD_WHO = "Who is involved?"
FIELD_WHEN = "When did it happen?"
FIELD_ABOUT_HEADTEACHER = "This concerns the headteacher"
FIELD_ABOUT_HEADTEACHER_HINT = "Then it goes to the chair of governors instead, and the headteacher is told nothing."
FIELD_IDENTITY = "Anonymous or with your name?"
FIELD_EVIDENCE = "Screenshots (optional)"
FIELD_EVIDENCE_HINT = (
    "Slack and Teams keep their own copy of anything you upload, under your name: if you want to stay "
    "anonymous, describe it or give a link instead."
)
WHAT_HAPPENED_MISSING = "Please say what happened: it's the one thing I need."
KIND_UNKNOWN = "Please choose what the report is about."
TOO_LONG = "That's longer than I can take in one go ({limit:,} characters). Send the rest as a follow-up."

# --- After submission -------------------------------------------------------------------------------------
SUBMITTED_TITLE = "Report sent: {code}"
SUBMITTED = (
    "Keep these two safe: they are the only way back to your report, and I can't show the secret again.\n"
    "Case code: {code}\n"
    "Secret: {secret}\n\n"
    "{next_steps}"
)
SUBMITTED_NOTED = "Case code: {code}. You've noted the secret; keep it safe. Type \"status\" to follow up."
NEXT_STEPS = (
    "What happens next: {recipient} will acknowledge your report within 7 days and give you feedback within "
    "3 months. Type \"status\" at any time, with your code and secret, to read their replies and add more."
)
NEXT_STEPS_URGENT = (
    "This is marked urgent: {recipient} is told straight away so the school can act at once (for a "
    "compromised account, suspending it if needed). Type \"status\" with your code and secret to follow it up."
)
NAMED_NOTE = "You gave your name, so {recipient} can see who made this report."
NAMED_DIRECT_NOTE = "You asked to be messaged directly: I'll tell you here when there's news."
NOBODY_HOLDS = (
    "Nobody is set up as {role} in policybot yet. Your report is saved and will reach them as soon as "
    "someone is; if it can't wait, speak to them in person."
)
EVIDENCE_PENDING = "{count} screenshot(s) are being attached now; \"status\" shows them once they are in."
EVIDENCE_REFUSED = "Not attached: {name} ({reason}). The report was sent without it."
EVIDENCE_NOT_IMAGE = "only pictures can be attached"
EVIDENCE_TOO_BIG = "bigger than {limit_mb} MB"
SUPPORT_HEADING = "Support the policy offers"
NOTED_BUTTON = "I've noted it"
NOTED_TITLE = "Report sent: {code}"

# --- Following up -------------------------------------------------------------------------------------------
FOLLOW_UP_TITLE = "Follow up a report"
FOLLOW_UP_SUBMIT = "Open"
FOLLOW_UP_INTRO = "Type the case code and the secret you were given when you made the report."
FIELD_CODE = "Case code"
FIELD_CODE_PLACEHOLDER = "e.g. K7QP-3XMD"
FIELD_SECRET = "Secret"
NO_MATCH = (
    "That code and secret don't open a report. Check them and try again; after several wrong tries the "
    "report is locked for a while."
)
FOLLOW_UP_WITH_BUTTON = "Follow-ups happen in a private form. Press \"Follow up on a report\" to open it."
CASE_TITLE = "Case {code}"
CASE_STATE = {
    "open": "Sent on {opened}; not acknowledged yet.",
    "acknowledged": "Sent on {opened}; acknowledged on {acknowledged}.",
    "closed": "Sent on {opened}; closed on {closed}.",
}
CASE_EVIDENCE = "Screenshots attached: {count}."
CASE_MESSAGES_HEADING = "Messages"
CASE_NO_MESSAGES = "No replies yet."
FROM_REPORTER = "You, {day}"
FROM_STAFF = "{role}, {day}"
ADD_MESSAGE_TITLE = "Add to your report"
FIELD_MORE = "Anything to add or answer?"
ADD_MESSAGE_SUBMIT = "Send"
ADD_EVIDENCE_HINT = "To add a screenshot in Teams, send it in this chat with the words \"add evidence to {code}\"."
MESSAGE_ADDED = "Added to case {code}. {recipient} will see it."
MESSAGE_EMPTY = "Please type something to add."
CLOSE_NOTE_HEADING = "Note for staff, written when the case was closed"
KIND_MISSING = "Please choose what it is about: it decides who else is told."
CASE_CLOSED_NO_MORE = "Case {code} is closed, so it can't take more messages. You can make a new report at any time."
FOLLOW_UP_EXPIRED = "This form has expired. Type \"status\" and open your report again."

# --- Evidence sent in the chat ("add evidence to K7QP-3XMD") --------------------------------------------------
EVIDENCE_RECEIVED = (
    "Thank you. If {code} is an open case, the screenshot(s) are being added to it; \"status\" shows them. "
    "Remember that the chat app keeps its own copy of what you send here."
)
EVIDENCE_HOW = "Send the screenshot in this chat with the words \"add evidence to\" and your case code, e.g. \"add evidence to K7QP-3XMD\"."

# --- Roles, as the reporter and the handler see them ----------------------------------------------------------
ROLE_NAMES = {
    "headteacher": "{headteacher}",
    "chair_of_governors": "{chair}",
    "safeguarding_lead": "{dsl}",
}

# --- What the person handling a case sees ------------------------------------------------------------------------
NEW_REPORT_NOTIFICATION = "A new report needs your attention"
UPDATE_NOTIFICATION = "A report needs your attention"
CASE_CARD_TITLE = "Report {code}: {kind}"
CASE_CARD_URGENT_TITLE = "Urgent report {code}: {kind}"
CASE_URGENT_LINE = (
    "Urgent: the policy says the school must act straight away, suspending social media accounts if needed."
)
CASE_SAFEGUARDING_LINE = "A pupil's safety: this goes to {dsl} as well. If nobody holds that role yet, act on it today as you would for any safeguarding concern."
FACT_CASE = "Case"
FACT_KIND = "About"
FACT_URGENCY = "Urgency"
FACT_REPORTER = "Reporter"
FACT_STATE = "State"
URGENCY_URGENT = "Urgent"
URGENCY_NORMAL = "Normal"
ANONYMOUS = "Anonymous"
CARD_STATE = {
    "open": "New: not acknowledged yet",
    "acknowledged": "Acknowledged on {acknowledged}",
    "closed": "Closed on {closed}",
}
ACKNOWLEDGE_BUTTON = "Acknowledge"
REPLY_BUTTON = "Reply to reporter"
CLOSE_BUTTON = "Close"
READ_BUTTON = "Read in full"
REPORTER_ADDED_TITLE = "The reporter of case {code} added to it"
REMINDER_TITLE = "Reminder: report {code}"
REMINDERS = {
    "acknowledge": "Report {code} was sent {age} days ago and has not been acknowledged. Please acknowledge it: the reporter is waiting.",
    "acknowledge_last": "Report {code} must be acknowledged by tomorrow (7 days after it was sent).",
    "feedback": "Report {code} was sent {age} days ago and the reporter has had no feedback. Please reply before 3 months pass.",
}
REPLY_FORM_TITLE = "Reply to the reporter"
FIELD_REPLY = "Your reply (the reporter reads it with their code)"
REPLY_SUBMIT = "Send reply"
REPLY_SAVED = "Your reply to case {code} is saved. The reporter reads it when they follow up with their code."
CLOSE_FORM_TITLE = "Close the case"
FIELD_OUTCOME = "The outcome, as the reporter will read it"
FIELD_STAFF_NOTE = "A note for staff only (optional)"
CLOSE_SUBMIT = "Close case"
CASE_CLOSED = "Case {code} is closed. The reporter will read the outcome when they follow up."
NOT_YOURS = "Only the person this report was sent to can act on it."
CASE_GONE = "That case no longer exists (it may have been deleted under the retention rules)."
ALREADY_CLOSED = "Case {code} was already closed on {closed}."
FULL_REPORT_TITLE = "Report {code} in full"
FULL_REPORT_CONTINUED = "Report {code} (continued)"
DETAIL_LABELS = {"where": "Where", "link": "Link", "who": "Who is involved", "when": "When"}
REPORT_TEXT_HEADING = "What happened"
REPORTER_UPDATE_TITLE = "News on your report {code}"
REPORTER_UPDATE = "There's news on your report {code}. Type \"status\" and open it with your code and secret to read it."

# --- Words that start these flows (whole message, lower case, trailing punctuation ignored) ------------------
START_WORDS = (
    "report",
    "make a report",
    "report something",
    "i want to report",
    "i want to make a report",
    "i'd like to report",
    "i need to report",
    "new report",
    "anonymous report",
)
FOLLOW_UP_WORDS = ("status", "follow up", "follow-up", "check my report", "my report", "case status")
