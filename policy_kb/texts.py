"""What the terminal advisor says, in one place so a school can reword it."""

VERDICT_LABELS = {
    "allowed": ("✅", "Allowed"),
    "not_allowed": ("⛔", "Not allowed"),
    "ask_headteacher": ("🙋", "Ask the headteacher first"),
    "report": ("🚩", "Please report this"),
    "info": ("ℹ️", "What the policy says"),
    "out_of_scope": ("🤷", "Not something the policy covers"),
}
UNSURE_NOTE = "I'm not certain about this one: if in doubt, ask the headteacher before posting."
EMPTY_QUESTION = "Please type a question, for example: Can I post photos of my class on my own Facebook?"
KB_ALL_QUOTES_FOUND = "All {count} quotes in {knowledge} were found in {policy}."
KB_QUOTE_MISSING = "NOT FOUND [{owner}]: {quote}"
KB_SUMMARY = "{missing} of {count} quotes were not found in {policy}; the advisor will not cite them."
