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

# One line on start: what the loaded policy decides, and how to review it.
RULES_LINE = (
    "Policy: {school} ({policy}): {decided} of {total} situations decided by its text, {left} left to the "
    "headteacher. Review them: policybot kb review --output review.html"
)
RULES_LINE_CURATED = "Policy: {school} ({policy}): all {total} situations decided by its text."
KB_RULE_PROBLEM = "RULES FILE [{owner}]: {quote} ({reason})"
KB_INIT_WRITTEN = "Wrote the rules for {school} to {output}: {decided} of {total} situations decided by the policy, {left} left to the headteacher, {unused} clauses no rule uses. Point RULES_PATH at it to use it."
KB_REVIEW_WRITTEN = "Wrote the review sheet to {output} ({pages} sections): print it for the headteacher or DSL."
KB_OUTPUT_EXISTS = "policybot: {output} already exists; choose another --output or remove it first."
KB_OUTPUT_UNWRITABLE = "policybot: cannot write {output} ({reason})."
KB_DERIVED = "{replaced} of {total} situations use rules read from {policy} itself (the bundled school's rules don't fit it): check them with `policybot kb review`."
