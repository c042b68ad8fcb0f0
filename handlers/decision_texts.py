"""Every sentence of the headteacher's decisions: answers to "Ask the headteacher", removal requests and
notices, and the overview (`dashboard`), in one place so a school can reword them.

Placeholders: `{headteacher}` is the headteacher's name from settings; `{asker}`, `{who}` and `{acting}`
are people's names (or "a member of staff" when the platform gave none); `{when}` and `{due}` are times
such as "1 December 2026 at 14:05". Keep the placeholders when rewording.
"""

from __future__ import annotations

SOMEONE = "A member of staff"
SOMEONE_LOWER = "a member of staff"

# --- "Ask the headteacher" ------------------------------------------------------------------------------
# Typed as `ask the head: …` (or `ask the headteacher …`); with nothing after it, a form asks for it.
ASK_FORM_TITLE = "Ask {headteacher}"
ASK_FORM_SUBMIT = "Send"
ASK_FORM_INTRO = "Your question goes to {headteacher} with your name, so they can answer you here."
FIELD_QUESTION = "Your question"
FIELD_DRAFT = "Your draft post, if you have one"
QUESTION_EMPTY = "Please write the question you'd like to ask."
ASK_NO_DECIDER = (
    "I can't pass questions to {headteacher} yet: nobody has set me up with who the headteacher is. "
    "Please speak to {headteacher} directly, and hold off posting until you have."
)

# What the question is about, read from the advisor's answer: the card's wording follows it.
QUESTION_TITLES = {
    "post": "{asker} asks whether they may post this",
    "friend": "{asker} asks about a friend request or connection",
    "incident": "{asker} tells you about something that has happened",
    "other": "{asker} has a question for you",
}
QUESTION_INTROS = {
    "post": "They checked with me first, and will hold off posting until you answer.",
    "friend": "They asked me whether they may connect with someone, and would like your answer first.",
    "incident": "They told me about this and would like you to know. It may need a report as well as your answer.",
    "other": "They asked me this and would like your answer.",
}
QUESTION_NOTIFICATION = "A member of staff is waiting for your answer"
THEIR_QUESTION = "Their question"
THEIR_DRAFT = "Their draft post"
FACT_ASKED_ON = "Asked"
FACT_ADVISOR = "policybot said"
REMINDER_LINE = "⏰ Reminder: this has been waiting since {when}."

# The three answers: (button label, the answer's heading). Labels follow what was asked.
DECISION_BUTTONS = {
    "post": {"fine": "Fine to post", "dont_post": "Don't post", "talk": "Let's talk"},
    "friend": {"fine": "Fine to accept", "dont_post": "Please don't", "talk": "Let's talk"},
    "incident": {"fine": "Thanks, noted", "dont_post": "Don't respond to it", "talk": "Let's talk"},
    "other": {"fine": "That's fine", "dont_post": "Please don't", "talk": "Let's talk"},
}
DECISION_ICONS = {"fine": "✅", "dont_post": "⛔", "talk": "💬"}
DECISION_FORM_INTRO = "{asker} will get your answer, \"{decision}\", in their chat with me, with your note if you add one."
FIELD_NOTE = "A note for them"
DECISION_SUBMIT = "Send answer"
DECISION_SENT = "Sent: \"{decision}\". {asker} will see it in their chat with me."
DECIDED_LINE = "{icon} {decision}: answered by {who} on {when}."
YOUR_NOTE = "Note"
ALREADY_ANSWERED = "This question was already answered: \"{decision}\" by {who} on {when}. Nothing was changed."

# To the member of staff.
ANSWER_TITLES = {
    "fine": "{headteacher} says: {decision}",
    "dont_post": "{headteacher} says: {decision}",
    "talk": "{headteacher} would like to talk about it",
}
ANSWER_NOTE = "Their note:\n{note}"
ANSWER_NO_NOTE = "They didn't add a note."
ANSWER_TALK = "Please find {headteacher} when you can, and hold off posting until you've spoken."
STILL_WAITING_TITLE = "Your question is still with {headteacher}"
STILL_WAITING = (
    "You asked on {when} and {headteacher} hasn't answered yet; I've reminded them. "
    "Please hold off posting until you hear back, or speak to them directly if it's urgent."
)

# --- Removal requests ------------------------------------------------------------------------------------
# Typed alone (or "remove: <what>"), or /policy remove.
REMOVAL_WORDS = (
    "remove", "removal", "take down", "take it down", "takedown", "remove a post", "remove this", "remove post",
    "request removal", "ask for removal", "removal request", "ask for this to be removed",
)
REMOVAL_BUTTON = "Ask for something to be removed"
REQUEST_FORM_TITLE = "Ask for removal"
REQUEST_FORM_INTRO = (
    "{headteacher} decides whether it must come down. If they agree, whoever can remove it is asked to, "
    "and you'll hear of each step here."
)
NOTICE_FORM_TITLE = "Removal notice"
NOTICE_FORM_INTRO = "As {headteacher}, you can ask for removal directly: whoever can remove it gets the notice."
REQUEST_SUBMIT = "Send request"
NOTICE_SUBMIT = "Send notice"
FIELD_CONTENT = "The link, or what it says and where"
FIELD_LOCATION = "Where is it?"
LOCATIONS = {
    "school_account": "On one of the school's accounts",
    "colleague": "A colleague's post",
    "parent": "A parent's post",
    "elsewhere": "Somewhere else",
}
FIELD_POSTER = "Who posted it, if a colleague"
FIELD_REASON = "Why should it come down?"
FIELD_CLAUSE = "The part of the policy it breaches"
CLAUSE_SUGGEST = "Let policybot suggest one from your description"
CLAUSE_HINT = "policybot suggests: {section}"
CONTENT_EMPTY = "Please give the link, or say what the post says and where it is."
REQUEST_SENT = (
    "Your request is with {headteacher}. You'll hear here when they decide, and again when it has been removed."
)
NOTICE_SENT = "Sent to {acting}: please remove it by {due}. You'll hear here when it's done."

REQUEST_TITLE = "Removal request from {asker}"
REQUEST_NOTIFICATION = "A member of staff asks for something to be removed"
NOTICE_TITLE = "Please remove this by {due}"
NOTICE_OVERDUE_TITLE = "⏰ Overdue: please remove this now"
NOTICE_NOTIFICATION = "You're asked to remove something you posted or manage"
NOTICE_INTRO = "{who} has decided this must be removed under the school's social media policy:"
NOTICE_INTRO_FOR_HEADTEACHER = (
    "This must be removed, and nobody was named who can take it down: ask whoever posted it to remove it, "
    "or report it to the site."
)
NOTICE_REMOVED_HINT = "Press \"Removed\" once it has gone."
FACT_CONTENT = "What"
FACT_WHERE = "Where"
FACT_POSTER = "Posted by"
FACT_REASON = "Why"
FACT_REQUESTED = "Requested"
FACT_DUE = "Remove by"
FACT_STATE = "State"
APPROVE_BUTTON = "Approve"
REJECT_BUTTON = "Reject"
REMOVED_BUTTON = "Removed"
REJECT_FORM_TITLE = "Reject the request"
FIELD_REJECT_REASON = "Why it can stay up (sent to the person who asked)"
REJECT_SUBMIT = "Reject"
REJECT_REASON_EMPTY = "Please say why, so the person who asked understands."
REJECTED_SENT = "Rejected. The person who asked has been told why."
STATE_PENDING = "Waiting for a decision"
STATE_APPROVED = "Approved by {who} on {when}; {acting} must remove it by {due}"
STATE_REJECTED = "Rejected by {who} on {when}"
STATE_REMOVED = "Removed: confirmed by {who} on {when}"
STATE_OVERDUE = "Overdue: due {due}, not yet confirmed removed"
ALREADY_DECIDED = "This request was already decided: {state}. Nothing was changed."
NOT_APPROVED_YET = "This hasn't been approved for removal, so there's nothing to confirm."
REMOVED_THANKS = "Thank you: marked as removed. Everyone involved has been told."
ACTING_ROLES = {
    "school_accounts": "whoever runs the school's accounts",
    "headteacher": "{headteacher}",
}
REMOVAL_GONE = "Sorry, I can't find that removal request any more."
ONLY_THE_ACTOR = "Only the person asked to remove this, or {headteacher}, can confirm it has gone."

# To the person who asked.
DECIDED_APPROVED_TITLE = "{headteacher} approved your removal request"
DECIDED_APPROVED = "{acting} has been asked to remove it by {due}. You'll hear when it's gone."
DECIDED_REJECTED_TITLE = "{headteacher} decided it can stay up"
DECIDED_REJECTED = "Their reason:\n{note}"
DONE_TITLE = "Removed"
DONE = "{who} confirmed on {when} that this has been removed."
OVERDUE_FOR_DECIDER_TITLE = "⏰ Not removed by the deadline"
OVERDUE_FOR_DECIDER = "{acting} was asked to remove this by {due} and hasn't confirmed it yet. I've reminded them."

# --- Shared ----------------------------------------------------------------------------------------------
NOT_A_DECIDER = (
    "Only {headteacher} (or a deputy they've named) can decide this. Nothing was changed."
)
UNKNOWN_ITEM = "Sorry, that button doesn't match anything I know of. Nothing was changed."
# Nobody decides about themselves: another decider (the headteacher, or a deputy they've named) must.
OWN_QUESTION = (
    "You asked this question yourself, so someone else who decides (the headteacher, or a deputy they've "
    "named) must answer it. Nothing was changed."
)
OWN_POST = (
    "This request is about your own post, so someone else who decides (the headteacher, or a deputy they've "
    "named) must decide it. Nothing was changed."
)

# --- The overview (`dashboard`, and the Slack App Home) -------------------------------------------------
DASHBOARD_WORDS = ("dashboard", "overview", "my dashboard", "what's waiting", "whats waiting", "waiting for me")
DASHBOARD_TITLE = "What's waiting for you"
DASHBOARD_EMPTY = "Nothing is waiting for you."
# Each shown only when there is at least one, joined with " · ".
DASHBOARD_COUNTS = {
    "questions": ("1 question to answer", "{count} questions to answer"),
    "requests": ("1 removal request to decide", "{count} removal requests to decide"),
    "notices": ("1 removal not yet confirmed", "{count} removals not yet confirmed"),
    "cases": ("1 open report case", "{count} open report cases"),
}
DASHBOARD_COUNTS_STAFF = "Your requests are below, newest first."
DASHBOARD_MORE = "…and {count} more not shown here."
# Where a home page has no room for everything (Slack's App Home holds 100 blocks).
HOME_MORE = "There's more: send me \"dashboard\" to see it all."
CASE_ITEM_TITLE = "Case {code}: {kind}"
CASE_ITEM_AGE = "Opened {opened} ({age})"
AGES = ("today", "yesterday", "{days} days ago")
FACT_OPENED = "Opened"
YOUR_REQUESTS_TITLE = "Your questions and removal requests"
YOUR_REQUESTS_EMPTY = "You haven't asked {headteacher} anything through me yet."
YOUR_QUESTION_LINE = "• Question, {when}: {question} — {state}"
YOUR_REMOVAL_LINE = "• Removal, {when}: {what} — {state}"
WAITING = "waiting for an answer"
