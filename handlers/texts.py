"""Every sentence policybot says in a conversation, in one place so a school can reword them.

Placeholders in braces are filled in by the flows: `{headteacher}` is the headteacher's name from settings
(HEADTEACHER_NAME, "the headteacher" by default). Keep the placeholders when rewording.
"""

from __future__ import annotations

# --- Verdicts: (icon, title) shown above the plain-English reason -------------------------------------
VERDICT_HEADINGS: dict[str, tuple[str, str]] = {
    "allowed": ("✅", "Yes, that's fine under the policy"),
    "not_allowed": ("⛔", "No, the policy doesn't allow this"),
    "ask_headteacher": ("✋", "Check with {headteacher} first"),
    "report": ("🚩", "This needs reporting"),
    "info": ("ℹ️", "What the policy says"),
    "out_of_scope": ("🤷", "That's not something the policy covers"),
}
UNKNOWN_VERDICT_HEADING = ("❔", "Here's what I found")
# Headings for what a question is about, where "post" is the wrong word.
TOPIC_HEADINGS: dict[str, dict[str, tuple[str, str]]] = {
    "friend": {
        "allowed": ("✅", "Yes, that's fine under the policy"),
        "not_allowed": ("⛔", "No, please don't accept or connect"),
    },
}
# A yes the advisor is not sure of: shown without the green "Yes".
UNSURE_YES_HEADING = ("🤔", "Probably fine, but I'm not sure")

NOT_CONFIDENT = "I'm not sure I've understood this one, so please check with {headteacher} before you post."
YOU_ASKED = "You asked"
NEXT_STEPS_HEADING = "What to do next:"
NEXT_STEP_BULLET = "• {step}"
# A draft pasted to be checked: what in it the policy touches, each with the section of its clause.
FINDINGS_HEADING = "What I found in your draft:"
FINDING_BULLET = "• {label}{excerpt} ({section})"

# --- Buttons ------------------------------------------------------------------------------------------
ASK_HEADTEACHER_BUTTON = "Ask the headteacher"
HELPFUL_BUTTON = "👍 Helpful"
NOT_HELPFUL_BUTTON = "👎 Not helpful"
FEEDBACK_PROMPT = "Was this helpful?"

# --- Shown by the chat renderers -----------------------------------------------------------------------
SHORTENED_NOTE = "(Shortened to fit in the chat app.)"
FORM_CANCEL = "Cancel"

# --- Help ---------------------------------------------------------------------------------------------
HELP_TITLE = "How I can help"
HELP_TEXT = (
    "I answer questions about the school's staff social-media policy, quoting the exact clauses I rely on.\n"
    "• Ask me anything you'd like to check before posting, sharing, liking, friending or messaging, "
    "e.g. \"Can I share photos of the sports day on my Facebook?\"\n"
    "• Paste a draft post and I'll tell you whether it fits the policy.\n"
    "• If I'm unsure, or the policy says to check first, I'll offer to pass your question to {headteacher}; "
    "or type \"ask the head: …\" to ask them yourself.\n"
    "• Type \"remove\" to ask for a post that breaks the policy to be taken down, and \"dashboard\" to see "
    "your requests (and, if you decide them, what's waiting for you).\n"
    "• If you're being harassed online, or an account has been hacked, say so and I'll show you how to report it.\n"
    "Direct messages to me are private; in a channel, mention me (in Slack, the /policy command works too)."
)

# --- Bad or empty input -------------------------------------------------------------------------------
EMPTY_QUESTION = (
    "Ask me about something you'd like to post or share, for example "
    "\"Can I post a photo of my class on Instagram?\" Type \"help\" to see what I can do."
)
BUTTON_EXPIRED = "Sorry, that button no longer works. Please ask your question again."
FORM_NOT_EXPECTED = "Sorry, I wasn't expecting that form. Please start again from the beginning."
# A button or form whose data is not what policybot gave it (altered, or from before an upgrade): nothing is done.
BUTTON_CHANGED = (
    "Sorry, this button has expired or was changed, so I haven't done anything. "
    "Please use the buttons on a newer message, or type \"dashboard\" to see what's waiting for you."
)
FORM_CHANGED = (
    "Sorry, this form has expired or was changed, so I haven't done anything with it. "
    "Please start again from a newer message."
)
# Shown in place of a form while what was sent is still being saved (a busy moment): the answer replaces it.
FORM_SAVING = "Saving what you sent… This takes a moment; please keep this window open for your answer."
SOMETHING_WENT_WRONG = (
    "Sorry, something went wrong on my side and I couldn't answer. Nothing you sent has been lost; "
    "please try again in a moment, or ask {headteacher} directly."
)
# A form that could not be saved (the database down, say): what was typed in it is not kept anywhere.
FORM_NOT_SAVED = (
    "Sorry, something went wrong on my side and what you sent in that form was not saved. "
    "Please send it again in a moment, or ask {headteacher} directly."
)

# --- Feedback -----------------------------------------------------------------------------------------
FEEDBACK_THANKS_HELPFUL = "Thanks, glad it helped."
FEEDBACK_THANKS_NOT_HELPFUL = (
    "Thanks for telling me. If you're still unsure, ask {headteacher} before you post."
)
FEEDBACK_ALREADY_COUNTED = "You've already told me about this answer, thanks: it counts once."
FEEDBACK_CHANGED = "I've changed your feedback on this answer."

# --- Ask the headteacher ------------------------------------------------------------------------------
# The answer card is replaced by this once the question is on its way (so its button cannot be pressed
# twice). Delivery is a moment later, by the bot's outbox: "on its way", not "delivered".
ASK_HEADTEACHER_SENT_TITLE = "Question sent to {headteacher}"
ASK_HEADTEACHER_SENT = (
    "Your question is on its way to {headteacher}, with your name so they can reply to you. "
    "Please hold off posting until you've heard back. If it's urgent, speak to them directly."
)
ASK_HEADTEACHER_ALREADY_SENT = (
    "You've already sent this question to {headteacher}. They'll reply to you; if it's urgent, speak to them directly."
)
ASK_HEADTEACHER_NOT_YOURS = (
    "Only the person who asked this question can send it to {headteacher}. "
    "If you'd like to ask about it yourself, send me your own question."
)
MY_ANSWER_WAS = "My answer was"

# --- Who asked, added by each platform to the card the headteacher receives -------------------------
ASKED_BY = "Asked by"
# When the person asked on another platform than the one this message goes to.
ASKED_BY_ELSEWHERE = "{who} on {platform}"

# --- Words that mean someone wants to report something (whole words, lower case) ---------------------
# Phrases, not the bare word: "the Ofsted report" or "my pupil's school report" is not an incident.
REPORT_WORDS = (
    "report it",
    "report this",
    "report him",
    "report her",
    "report them",
    "report someone",
    "report a parent",
    "report a colleague",
    "report harassment",
    "report bullying",
    "want to report",
    "need to report",
    "make a report",
    "how do i report",
    "anonymous report",
    "harass",
    "harassed",
    "harassing",
    "harassment",
    "hacked",
    "hack",
    "bullied",
    "bullying",
    "abuse",
    "abusive",
    "threatened",
    "threatening",
    "trolled",
    "trolling",
    "impersonating",
    "impersonated",
)
HELP_WORDS = ("help", "?", "hi", "hello", "what can you do", "how does this work")
