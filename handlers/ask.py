"""The "can I post this?" flow: a question in, the advisor's verdict out with the clauses it rests on,
and whether the answer helped. Passing the question on is `handlers.ask_headteacher`."""

from __future__ import annotations

import logging
import re

from handlers import actions, texts
from handlers.messages import Button, Fact, IncomingMessage, Quote, Reply
from policy_kb.answer import Answer, Verdict

log = logging.getLogger(__name__)

# Enough of the question to recognise it by, echoed under the answer.
ECHO_CHARS = 300
# The advisor handles long drafts, but nothing a person pastes needs more than this to be judged.
MAX_QUESTION_CHARS = 10_000

# Situation ids are short slugs from the advisor's knowledge file.
MAX_SITUATION_CHARS = 100
_VERDICTS = frozenset(verdict.value for verdict in Verdict)


# Situations of the advisor's knowledge that are about connecting with someone.
_FRIEND_SITUATION = re.compile(r"^(?:connect_with_|friends_with_|adult_former_pupils|former_pupils)")


def topic_of(*, verdict: str, situation: str) -> str:
    if verdict == Verdict.REPORT.value:
        return "incident"
    if _FRIEND_SITUATION.match(situation or ""):
        return "friend"
    if verdict in (Verdict.INFO.value, Verdict.OUT_OF_SCOPE.value):
        return "other"
    return "post"


def needs_headteacher_button(answer: Answer) -> bool:
    return answer.verdict is not Verdict.ALLOWED or not answer.confident


def answer_reply(*, answer: Answer, question: str, private: bool, headteacher: str, asker: str = "") -> Reply:
    unsure_yes = answer.verdict is Verdict.ALLOWED and not answer.confident
    # An unsure yes never wears the green "Yes" a skimming reader would act on.
    # The heading fits what was asked: a friend request is accepted or declined, not posted.
    headings = {**texts.VERDICT_HEADINGS, **texts.TOPIC_HEADINGS.get(topic_of(verdict=answer.verdict.value, situation=answer.situation), {})}
    icon, title = texts.UNSURE_YES_HEADING if unsure_yes else headings.get(answer.verdict.value, texts.UNKNOWN_VERDICT_HEADING)
    paragraphs = []
    if not answer.confident:
        paragraphs.append(texts.NOT_CONFIDENT.format(headteacher=headteacher))
    if answer.answer:
        paragraphs.append(answer.answer)
    if answer.findings:
        found = [
            texts.FINDING_BULLET.format(label=f.label, excerpt=f" “{f.excerpt}”" if f.excerpt else "", section=f.citation.section)
            for f in answer.findings
        ]
        paragraphs.append("\n".join([texts.FINDINGS_HEADING, *found]))
    if answer.next_steps:
        steps = [texts.NEXT_STEP_BULLET.format(step=step) for step in answer.next_steps]
        paragraphs.append("\n".join([texts.NEXT_STEPS_HEADING, *steps]))

    about = {"verdict": answer.verdict.value, "situation": answer.situation}
    buttons = []
    if needs_headteacher_button(answer):
        buttons.append(
            Button(
                label=texts.ASK_HEADTEACHER_BUTTON,
                action_id=actions.ASK_HEADTEACHER,
                # The asker's id: in a channel anyone can press the button, but only the asker may send it.
                value=actions.encode({**about, "question": question, "asker": asker}),
                style="primary",
            )
        )
    buttons.append(Button(label=texts.HELPFUL_BUTTON, action_id=actions.FEEDBACK_HELPFUL, value=actions.encode(about)))
    buttons.append(
        Button(label=texts.NOT_HELPFUL_BUTTON, action_id=actions.FEEDBACK_NOT_HELPFUL, value=actions.encode(about))
    )
    return Reply(
        text="\n\n".join(paragraphs) or title.format(headteacher=headteacher),
        title=title.format(headteacher=headteacher),
        icon=icon,
        verdict=None if unsure_yes else answer.verdict.value,
        quotes=tuple(Quote(section=c.section, text=c.quote) for c in answer.citations),
        facts=(Fact(label=texts.YOU_ASKED, value=shorten(question, ECHO_CHARS)),) if question else (),
        buttons=tuple(buttons),
        private=private,
    )


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def ask(*, advisor, message: IncomingMessage, question: str, headteacher: str) -> Reply:
    question = question[:MAX_QUESTION_CHARS]
    answer = advisor.ask(question)
    return answer_reply(
        answer=answer, question=question, private=message.private, headteacher=headteacher, asker=message.sender_id
    )


def answer_about(value: str) -> dict | None:
    """The verdict and situation a button was about, or None when the value is not one we made."""
    data = actions.decode(value)
    if data is None or data.get("verdict") not in _VERDICTS:
        return None
    situation = data.get("situation", "")
    if not isinstance(situation, str) or len(situation) > MAX_SITUATION_CHARS:
        return None
    return data


async def record_feedback(*, session, repo, message: IncomingMessage, helpful: bool, headteacher: str) -> Reply:
    about = answer_about(message.click.value)
    if about is None:
        return Reply(text=texts.BUTTON_EXPIRED, private=True)
    # Feedback says how good the answer was, never who asked: the person and the answer's message go in
    # only as one keyed digest, so that a second click is recognised. Without a message id (the terminal)
    # the answer is known by what the button was about.
    result = await repo.record_feedback(
        session=session,
        situation=about.get("situation", ""),
        verdict=about["verdict"],
        helpful=helpful,
        platform=message.conversation.platform,
        answer_id=message.click.message_id or message.click.value,
        user_id=message.sender_id,
    )
    if result.outcome == repo.FEEDBACK_REPEATED:
        return Reply(text=texts.FEEDBACK_ALREADY_COUNTED, private=message.private)
    thanks = (texts.FEEDBACK_THANKS_HELPFUL if helpful else texts.FEEDBACK_THANKS_NOT_HELPFUL).format(headteacher=headteacher)
    if result.outcome == repo.FEEDBACK_CHANGED:
        thanks = f"{texts.FEEDBACK_CHANGED} {thanks}"
    return Reply(text=thanks, private=message.private)


def verdict_heading(verdict: str, *, headteacher: str) -> str:
    icon, title = texts.VERDICT_HEADINGS.get(verdict, texts.UNKNOWN_VERDICT_HEADING)
    return f"{icon} {title.format(headteacher=headteacher)}"
