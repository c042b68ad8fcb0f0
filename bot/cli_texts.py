"""What the `policybot` command says in a terminal, in one place so a school can reword it. Answers
themselves use the conversation's own wording (handlers/texts.py), as in Slack and Teams."""

KB_ALL_QUOTES_FOUND = "All {count} quotes in {knowledge} were found in {policy}."
KB_QUOTE_MISSING = "NOT FOUND [{owner}]: {quote}"
KB_SUMMARY = "{missing} of {count} quotes were not found in {policy}; the advisor will not cite them."
CHAT_WELCOME = "policybot — ask whether you can post, share, like, friend or message something. Type 'help' for more, 'quit' to leave."
CHAT_PROMPT = "you> "
CHAT_GOODBYE = "Bye! Ask again any time."
CHAT_LENT_HEADTEACHER = (
    "No roles are set, so for this session you are also the headteacher: questions and removal requests you "
    "send come back to you here to decide. Type 'dashboard' to see what waits."
)
