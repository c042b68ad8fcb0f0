"""The "can I post this?" flow: a question in, the advisor's verdict out with the clauses it rests on,
and the two follow-ups on that answer: asking the headteacher and saying whether it helped."""

from __future__ import annotations

import logging

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


def needs_headteacher_button(answer: Answer) -> bool:
    return answer.verdict is not Verdict.ALLOWED or not answer.confident


def answer_reply(*, answer: Answer, question: str, private: bool, headteacher: str) -> Reply:
    icon, title = texts.VERDICT_HEADINGS.get(answer.verdict.value, texts.UNKNOWN_VERDICT_HEADING)
    paragraphs = []
    if not answer.confident:
        paragraphs.append(texts.NOT_CONFIDENT.format(headteacher=headteacher))
    if answer.answer:
        paragraphs.append(answer.answer)
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
                value=actions.encode({**about, "question": question}),
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
        verdict=answer.verdict.value,
        quotes=tuple(Quote(section=c.section, text=c.quote) for c in answer.citations),
        facts=(Fact(label=texts.YOU_ASKED, value=_shorten(question, ECHO_CHARS)),) if question else (),
        buttons=tuple(buttons),
        private=private,
    )


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def ask(*, advisor, message: IncomingMessage, question: str, headteacher: str) -> Reply:
    question = question[:MAX_QUESTION_CHARS]
    answer = advisor.ask(question)
    return answer_reply(answer=answer, question=question, private=message.private, headteacher=headteacher)


def _answer_about(value: str) -> dict | None:
    """The verdict and situation a button was about, or None when the value is not one we made."""
    data = actions.decode(value)
    if data is None or data.get("verdict") not in _VERDICTS:
        return None
    situation = data.get("situation", "")
    if not isinstance(situation, str) or len(situation) > MAX_SITUATION_CHARS:
        return None
    return data


async def record_feedback(*, session, repo, message: IncomingMessage, helpful: bool, headteacher: str) -> Reply:
    about = _answer_about(message.click.value)
    if about is None:
        return Reply(text=texts.BUTTON_EXPIRED, private=True)
    # Feedback says how good the answer was, never who asked: no user or conversation id goes in.
    await repo.record_feedback(
        session=session, situation=about.get("situation", ""), verdict=about["verdict"], helpful=helpful
    )
    thanks = texts.FEEDBACK_THANKS_HELPFUL if helpful else texts.FEEDBACK_THANKS_NOT_HELPFUL
    return Reply(text=thanks.format(headteacher=headteacher), private=message.private)


async def ask_headteacher(*, session, repo, message: IncomingMessage, headteacher: str) -> Reply:
    about = _answer_about(message.click.value)
    question = about.get("question") if about else None
    if not isinstance(question, str) or not question.strip():
        return Reply(text=texts.BUTTON_EXPIRED, private=True)
    conversation = message.conversation
    # Asking the headteacher is not anonymous: they need to know whom to answer.
    notification_id = await repo.enqueue_notification(
        session=session,
        recipient_role="headteacher",
        kind="ask_headteacher",
        payload={
            "text": texts.HEADTEACHER_NOTIFICATION.format(verdict=about["verdict"]),
            "question": question,
            "verdict": about["verdict"],
            "situation": about.get("situation", ""),
            "asker": {
                "platform": conversation.platform,
                "user_id": conversation.user_id,
                "conversation_id": conversation.conversation_id,
            },
        },
    )
    log.info("question queued for the headteacher as notification %s", notification_id)
    return Reply(
        text=texts.ASK_HEADTEACHER_QUEUED.format(headteacher=headteacher),
        title=texts.ASK_HEADTEACHER_QUEUED_TITLE.format(headteacher=headteacher),
        icon="📨",
        private=message.private,
    )
