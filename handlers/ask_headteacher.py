""""Ask the headteacher", both ends: a member of staff sends their question (from an answer's button, by
typing `ask the head: …`, or through a form), the headteacher gets a card with Fine to post / Don't post /
Let's talk, answers with an optional note, and the member of staff hears back in their chat.

Reminders after two school days unanswered are queued by storage (`send_escalation_reminders`); this
module only says what they look like.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, replace

from handlers import actions
from handlers import decision_texts as texts
from handlers.ask import ECHO_CHARS, MAX_QUESTION_CHARS, answer_about, shorten, topic_of, verdict_heading
from handlers import report_texts
from handlers import texts as conversation_texts
from handlers.deciders import asker_name, decider_or_refusal, leaves_it_to_another, name_of, number_in, person_ref, when
from handlers.flow import FlowContext, RoleNames
from handlers.messages import Button, ConversationRef, Fact, Form, FormField, IncomingMessage, Quote, Reply
from storage import repository as repo
from storage.errors import AlreadyDecided, TextTooLong

log = logging.getLogger(__name__)

# `ask the head: …`, `ask the headteacher …`, `ask head - …`: the rest is the question.
_TYPED = re.compile(r"^\s*ask\s+(?:the\s+)?head(?:teacher)?\b\s*[:,\-–]?\s*(?P<question>.*)$", re.IGNORECASE | re.DOTALL)
MAX_DRAFT_CHARS = 5000
MAX_NOTE_CHARS = 5000
DECISION_OF_BUTTON = {actions.QUESTION_FINE: "fine", actions.QUESTION_DONT: "dont_post", actions.QUESTION_TALK: "talk"}
BUTTON_OF_DECISION = {decision: action for action, decision in DECISION_OF_BUTTON.items()}


def typed_question(text: str) -> str | None:
    """The question in `ask the head: …` ("" when nothing follows), or None when the text is not that."""
    match = _TYPED.match(text)
    return None if match is None else match.group("question").strip()


# --- Sending a question ------------------------------------------------------------------------------


async def _send(context: FlowContext, message: IncomingMessage, *, question: str, draft: str = "",
                verdict: str | None = None, situation: str | None = None, replaces: str | None = None) -> Reply:
    """Queue the question for the deciders (the caller has checked there are some)."""
    answer = context.advisor.ask(f"{question}\n{draft}".strip())
    verdict = verdict or answer.verdict.value
    situation = situation if situation is not None else answer.situation
    person = message.conversation
    # Asking the headteacher is not anonymous: they need to know whom to answer.
    escalation = await repo.create_escalation(
        session=context.session,
        requester=repo.Actor(role="staff", platform=person.platform, user_id=message.sender_id),
        requester_name=person.user_name,
        question=question,
        draft=draft,
        recipient_role=repo.HEADTEACHER,
        situation=situation or None,
        verdict=verdict,
        topic=topic_of(verdict=verdict, situation=situation or ""),
        clauses=[(citation.section, citation.quote) for citation in answer.citations],
        remind_after_school_days=context.question_reminder_school_days,
    )
    log.info("question passed to the headteacher as escalation %s", escalation.id)
    return _sent_reply(question=question, verdict=verdict, names=context.names, private=message.private, replaces=replaces)


def _sent_reply(*, question: str, verdict: str, names: RoleNames, private: bool, replaces: str | None = None) -> Reply:
    headteacher = names.headteacher
    return Reply(
        text=conversation_texts.ASK_HEADTEACHER_SENT.format(headteacher=headteacher),
        title=conversation_texts.ASK_HEADTEACHER_SENT_TITLE.format(headteacher=headteacher),
        icon="📨",
        facts=(
            Fact(label=conversation_texts.YOU_ASKED, value=shorten(question, ECHO_CHARS)),
            Fact(label=conversation_texts.MY_ANSWER_WAS, value=verdict_heading(verdict, headteacher=headteacher)),
        ),
        private=private,
        replaces_message_id=replaces,
    )


async def _anyone_to_ask(context: FlowContext) -> bool:
    for role in repo.DECIDER_ROLES:
        if await repo.list_role_holders(session=context.session, role=role):
            return True
    return False


def _nobody(context: FlowContext) -> list[Reply]:
    # Nothing is queued: a question waiting for a headteacher who is never set up would never arrive.
    return [Reply(text=texts.ASK_NO_DECIDER.format(headteacher=context.headteacher), private=True)]


async def from_answer(*, context: FlowContext, message: IncomingMessage) -> list[Reply]:
    """The "Ask the headteacher" button under an answer: once per answer, and only by the person who asked."""
    headteacher = context.headteacher
    about = answer_about(message.click.value)
    question = about.get("question") if about else None
    asker = about.get("asker") if about else None
    if not isinstance(question, str) or not question.strip() or not isinstance(asker, str) or not asker:
        return [Reply(text=conversation_texts.BUTTON_EXPIRED, private=True)]
    if asker != message.sender_id:
        return [Reply(text=conversation_texts.ASK_HEADTEACHER_NOT_YOURS.format(headteacher=headteacher), private=True)]
    if not await _anyone_to_ask(context):
        return _nobody(context)
    conversation = message.conversation
    # One escalation per answer, however often (or however fast) its button is pressed: the answer's
    # message id, or the question itself when the platform gave none, is claimed like an event.
    once_key = "\x00".join(("ask_headteacher", conversation.conversation_id, message.click.message_id or "", asker, question))
    if not await repo.claim_event(
        session=context.session, platform=conversation.platform, event_id=hashlib.sha256(once_key.encode()).hexdigest()
    ):
        return [Reply(text=conversation_texts.ASK_HEADTEACHER_ALREADY_SENT.format(headteacher=headteacher), private=True)]
    # Replaces the answer, so its "Ask the headteacher" button cannot be pressed again.
    return [await _send(context, message, question=question, verdict=about["verdict"],
                        situation=about.get("situation") or "", replaces=message.click.message_id)]


def _ask_form(context: FlowContext, *, question: str = "") -> Form:
    headteacher = context.headteacher
    return Form(
        form_id=actions.ASK_FORM,
        title=texts.ASK_FORM_TITLE.format(headteacher=headteacher)[:24],
        submit_label=texts.ASK_FORM_SUBMIT,
        intro=texts.ASK_FORM_INTRO.format(headteacher=headteacher),
        fields=(
            FormField("question", texts.FIELD_QUESTION, multiline=True, max_length=MAX_QUESTION_CHARS, initial=question),
            FormField("draft", texts.FIELD_DRAFT, multiline=True, required=False, max_length=MAX_DRAFT_CHARS),
        ),
    )


async def typed(*, context: FlowContext, message: IncomingMessage) -> list[Reply]:
    """`ask the head: …`: sent at once; with nothing after it, a form asks for the question and a draft."""
    question = (typed_question(message.text) or "")[:MAX_QUESTION_CHARS]
    if not await _anyone_to_ask(context):
        return _nobody(context)
    if not question:
        return [Reply(text="", form=_ask_form(context), private=True)]
    return [await _send(context, message, question=question)]


async def submit_ask_form(*, context: FlowContext, message: IncomingMessage) -> list[Reply]:
    question = message.form.values.get("question", "").strip()[:MAX_QUESTION_CHARS]
    draft = message.form.values.get("draft", "").strip()[:MAX_DRAFT_CHARS]
    if not question:
        return [Reply(text="", form=_ask_form(context), form_errors=(("question", texts.QUESTION_EMPTY),), in_form=True, private=True)]
    if not await _anyone_to_ask(context):
        return [replace(reply, in_form=True) for reply in _nobody(context)]
    sent = await _send(context, message, question=question, draft=draft)
    return [replace(sent, in_form=True, private=True)]


# --- The headteacher's card ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    """What a card about a question shows, read from a notification's payload or from storage."""

    id: int
    topic: str
    question: str
    draft: str
    verdict: str
    clauses: tuple[tuple[str, str], ...]
    asker: str
    asked_at: object
    asker_ref: ConversationRef | None = None
    decision: str | None = None
    decided_by: str = ""
    decided_at: object = None
    note: str = ""

    @classmethod
    def from_payload(cls, payload: dict) -> "Question":
        return cls(
            id=int(payload.get("escalation_id") or 0), topic=payload.get("topic") or "post",
            question=payload.get("question") or "", draft=payload.get("draft") or "", verdict=payload.get("verdict") or "",
            clauses=tuple((str(section), str(quote)) for section, quote in payload.get("clauses") or ()),
            asker=payload.get("requester_name") or "", asked_at=payload.get("asked_at"),
            asker_ref=person_ref(payload.get("requester_platform"), payload.get("requester_user_id"), payload.get("requester_name")),
        )

    @classmethod
    def from_escalation(cls, escalation) -> "Question":
        return cls(
            id=escalation.id, topic=escalation.topic, question=escalation.question, draft=escalation.draft,
            verdict=escalation.verdict or "", clauses=tuple(tuple(pair) for pair in escalation.clause_pairs),
            asker=escalation.requester_name, asked_at=escalation.created_at, decision=escalation.decision,
            asker_ref=person_ref(escalation.requester_platform, escalation.requester_user_id, escalation.requester_name),
            decided_by=escalation.resolved_by_name, decided_at=escalation.resolved_at, note=escalation.response or "",
        )


def decision_label(topic: str, decision: str) -> str:
    labels = texts.DECISION_BUTTONS.get(topic, texts.DECISION_BUTTONS["post"])
    return labels.get(decision, decision)


def question_card(question: Question, *, names: RoleNames, reminder: bool = False, replaces: str | None = None) -> Reply:
    topic = question.topic if question.topic in texts.QUESTION_TITLES else "other"
    paragraphs = []
    if reminder:
        paragraphs.append(texts.REMINDER_LINE.format(when=when(names, question.asked_at)))
    paragraphs.append(texts.QUESTION_INTROS[topic])
    paragraphs.append(f"{texts.THEIR_QUESTION}:\n{question.question}")
    if question.draft:
        paragraphs.append(f"{texts.THEIR_DRAFT}:\n{question.draft}")
    buttons: tuple[Button, ...] = ()
    if question.decision:
        who = question.decided_by or names.headteacher
        paragraphs.append(texts.DECIDED_LINE.format(
            icon=texts.DECISION_ICONS.get(question.decision, ""), decision=decision_label(topic, question.decision),
            who=who, when=when(names, question.decided_at),
        ))
        if question.note:
            paragraphs.append(f"{texts.YOUR_NOTE}:\n{question.note}")
    else:
        value = json.dumps({"escalation": question.id})
        buttons = tuple(
            Button(label=decision_label(topic, decision), action_id=action, value=value,
                   style={"fine": "primary", "dont_post": "danger"}.get(decision))
            for action, decision in DECISION_OF_BUTTON.items()
        )
    facts = [Fact(conversation_texts.ASKED_BY, question.asker, person=question.asker_ref)] if question.asker_ref else []
    if question.asked_at:
        facts.append(Fact(texts.FACT_ASKED_ON, when(names, question.asked_at)))
    if question.verdict:
        facts.append(Fact(texts.FACT_ADVISOR, verdict_heading(question.verdict, headteacher=names.headteacher)))
    return Reply(
        text="\n\n".join(paragraphs),
        title=texts.QUESTION_TITLES[topic].format(asker=asker_name(question.asker)),
        icon={"incident": "🚩", "friend": "🤝"}.get(topic, "✋"),
        verdict=question.verdict or None,
        quotes=tuple(Quote(section=section, text=quote) for section, quote in question.clauses),
        facts=tuple(facts),
        buttons=buttons,
        notification_text=texts.QUESTION_NOTIFICATION,
        replaces_message_id=replaces,
    )


async def _open_question(context: FlowContext, message: IncomingMessage, escalation_id: int | None):
    """(the deciding actor, the escalation, None) or (None, None, the reply saying why not)."""
    if escalation_id is None:
        return None, None, Reply(text=texts.UNKNOWN_ITEM, private=True)
    actor, refusal = await decider_or_refusal(context, message)
    if refusal is not None:
        return None, None, refusal
    escalation = await repo.get_escalation(session=context.session, escalation_id=escalation_id)
    if escalation is None or escalation.kind != "question":
        return None, None, Reply(text=texts.UNKNOWN_ITEM, private=True)
    if await leaves_it_to_another(context, message.conversation, platform=escalation.requester_platform,
                                  user_id=escalation.requester_user_id):
        return None, None, Reply(text=texts.OWN_QUESTION, private=True)
    return actor, escalation, None


def _already_answered(escalation, *, names: RoleNames, card: str | None, in_form: bool = False) -> list[Reply]:
    question = Question.from_escalation(escalation)
    said = Reply(
        text=texts.ALREADY_ANSWERED.format(
            decision=decision_label(question.topic, question.decision or ""), who=question.decided_by or names.headteacher,
            when=when(names, question.decided_at),
        ),
        private=True, in_form=in_form,
    )
    return [said, question_card(question, names=names, replaces=card)] if card else [said]


def _decision_form(question: Question, *, decision: str, card: str | None, names: RoleNames) -> Form:
    label = decision_label(question.topic, decision)
    return Form(
        form_id=actions.QUESTION_DECISION_FORM,
        title=label[:24],
        submit_label=texts.DECISION_SUBMIT,
        intro=texts.DECISION_FORM_INTRO.format(asker=asker_name(question.asker), decision=label),
        private_metadata=json.dumps({"escalation": question.id, "decision": decision, "card": card or ""}),
        fields=(FormField("note", texts.FIELD_NOTE, multiline=True, required=False, max_length=MAX_NOTE_CHARS),),
    )


async def open_decision_form(*, context: FlowContext, message: IncomingMessage) -> list[Reply]:
    actor, escalation, refusal = await _open_question(context, message, number_in(message.click.value, "escalation"))
    if refusal is not None:
        return [refusal]
    if escalation.status != "open":
        return _already_answered(escalation, names=context.names, card=message.click.message_id)
    decision = DECISION_OF_BUTTON[message.click.action_id]
    form = _decision_form(Question.from_escalation(escalation), decision=decision, card=message.click.message_id, names=context.names)
    return [Reply(text="", form=form, private=True)]


async def submit_decision(*, context: FlowContext, message: IncomingMessage) -> list[Reply]:
    metadata = actions.decode(message.form.private_metadata) or {}
    decision = metadata.get("decision")
    card = metadata.get("card") if isinstance(metadata.get("card"), str) and metadata.get("card") else None
    actor, escalation, refusal = await _open_question(context, message, number_in(message.form.private_metadata, "escalation"))
    if refusal is not None:
        return [replace(refusal, in_form=True)]
    if decision not in BUTTON_OF_DECISION:
        return [Reply(text=texts.UNKNOWN_ITEM, in_form=True, private=True)]
    note = message.form.values.get("note", "").strip()
    try:
        answered = await repo.answer_escalation(
            session=context.session, escalation_id=escalation.id, actor=actor, response=note, decision=decision,
            responder_name=await name_of(context, message.conversation),
        )
    except AlreadyDecided:
        current = await repo.get_escalation(session=context.session, escalation_id=escalation.id)
        return _already_answered(current, names=context.names, card=card, in_form=True)
    except TextTooLong as error:
        form = _decision_form(Question.from_escalation(escalation), decision=decision, card=card, names=context.names)
        return [Reply(text="", form=form, form_errors=(("note", report_texts.TOO_LONG.format(limit=error.limit)),), in_form=True, private=True)]
    question = Question.from_escalation(answered)
    replies = [Reply(
        text=texts.DECISION_SENT.format(decision=decision_label(question.topic, decision), asker=asker_name(question.asker)),
        in_form=True, private=True,
    )]
    if card:
        replies.append(question_card(question, names=context.names, replaces=card))
    return replies


# --- Notifications -------------------------------------------------------------------------------------


def opened_message(payload: dict, *, names: RoleNames) -> Reply:
    return question_card(Question.from_payload(payload), names=names)


def reminder_message(payload: dict, *, names: RoleNames) -> Reply:
    return question_card(Question.from_payload(payload), names=names, reminder=True)


def waiting_message(payload: dict, *, names: RoleNames) -> Reply:
    headteacher = names.headteacher
    return Reply(
        text=texts.STILL_WAITING.format(when=when(names, payload.get("asked_at")), headteacher=headteacher),
        title=texts.STILL_WAITING_TITLE.format(headteacher=headteacher),
        icon="⏳",
        facts=(Fact(conversation_texts.YOU_ASKED, shorten(payload.get("question") or "", ECHO_CHARS)),),
    )


def answered_message(payload: dict, *, names: RoleNames) -> Reply:
    decision = payload.get("decision") or "talk"
    label = decision_label(payload.get("topic") or "post", decision)
    headteacher = payload.get("responder_name") or names.headteacher
    note = payload.get("note") or ""
    paragraphs = [texts.ANSWER_NOTE.format(note=note) if note else texts.ANSWER_NO_NOTE]
    if decision == "talk":
        paragraphs.append(texts.ANSWER_TALK.format(headteacher=headteacher))
    title = texts.ANSWER_TITLES.get(decision, texts.ANSWER_TITLES["talk"]).format(headteacher=headteacher, decision=label)
    return Reply(
        text="\n\n".join(paragraphs),
        title=title[:1].upper() + title[1:],
        icon=texts.DECISION_ICONS.get(decision, "💬"),
        facts=(Fact(conversation_texts.YOU_ASKED, shorten(payload.get("question") or "", ECHO_CHARS)),),
    )


ACTIONS = {
    actions.ASK_HEADTEACHER: from_answer,
    actions.QUESTION_FINE: open_decision_form,
    actions.QUESTION_DONT: open_decision_form,
    actions.QUESTION_TALK: open_decision_form,
}
FORMS = {actions.ASK_FORM: submit_ask_form, actions.QUESTION_DECISION_FORM: submit_decision}
NOTIFICATIONS = {
    "escalation_opened": opened_message,
    "escalation_reminder": reminder_message,
    "escalation_waiting": waiting_message,
    "escalation_answered": answered_message,
}
# Sent to the headteacher role, these reach its deputies too.
FOR_DECIDERS = frozenset({"escalation_opened", "escalation_reminder"})
