"""Removal, from request to confirmation: a member of staff asks for something to be taken down (a form:
what, where, who posted it, why, and the clause it breaches, suggested by the advisor); the headteacher
approves or rejects it with buttons; whoever must act gets a notice with a deadline and a "Removed"
button; the person who asked hears of each step. The headteacher may also send a notice directly.

Overdue notices are found by storage (`send_removal_reminders`); this module says what they look like.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace

from handlers import actions, report_texts
from handlers import texts as conversation_texts
from handlers import decision_texts as texts
from handlers.deciders import (
    actor_of, asker_name, decider_or_refusal, decider_role, leaves_it_to_another, name_of, number_in, person_ref, when,
)
from handlers.flow import FlowContext, RoleNames
from handlers.messages import PERSON_PREFIX, Button, Choice, ConversationRef, Fact, Form, FormField, IncomingMessage, Quote, Reply
from storage import repository as repo
from storage.errors import AlreadyDecided, TextTooLong

MAX_CONTENT_CHARS = 5000
MAX_REASON_CHARS = 5000
# `remove: <what>` or `take down - <what>`: the rest starts the form's description.
_TYPED = re.compile(r"^\s*(?:remove|take\s+(?:it\s+)?down)\s*[:\-–]\s*(?P<what>.+)$", re.IGNORECASE | re.DOTALL)
_WORDS = frozenset(texts.REMOVAL_WORDS)
_TRAILING = " \t\r\n.!?"
# The clause choice that leaves it to the advisor (a choice's value is never empty: Slack refuses that).
SUGGEST = "suggest"


def wants_removal(text: str) -> bool:
    lowered = " ".join(text.split()).lower()
    return lowered.rstrip(_TRAILING) in _WORDS or _TYPED.match(text) is not None


def _typed_description(text: str) -> str:
    match = _TYPED.match(text or "")
    return match.group("what").strip() if match else ""


# --- The form ----------------------------------------------------------------------------------------


def _sections(context: FlowContext):
    return getattr(getattr(context.advisor, "document", None), "sections", ())


def _suggested_clause(context: FlowContext, description: str, section_index: str = "") -> tuple[str, str] | None:
    """(section, quote): the clause the advisor cites for the description, within the chosen section when
    one was chosen; else that section's first clause."""
    sections = _sections(context)
    chosen = sections[int(section_index)] if section_index.isdigit() and int(section_index) < len(sections) else None
    citations = context.advisor.ask(description).citations if description.strip() else ()
    for citation in citations:
        if chosen is None or citation.section == chosen.heading:
            return citation.section, citation.quote
    if chosen is not None and chosen.clauses:
        return chosen.heading, chosen.clauses[0].text
    return None


async def _poster_choices(context: FlowContext, platform: str) -> tuple[Choice, ...]:
    people = await repo.list_known_people(session=context.session, platform=platform)
    return tuple(Choice(value=f"{PERSON_PREFIX}{user_id}", label=name) for user_id, name in people)


async def _form(context: FlowContext, message: IncomingMessage, *, notice: bool, description: str = "",
                poster_user_id: str = "", values: dict | None = None) -> Form:
    headteacher = context.headteacher
    values = values or {}
    description = values.get("content", description)
    suggestion = _suggested_clause(context, description) if description else None
    sections = _sections(context)
    clause_choices = (Choice(SUGGEST, texts.CLAUSE_SUGGEST), *(Choice(str(i), s.heading) for i, s in enumerate(sections)))
    location = values.get("location") or ("colleague" if poster_user_id else "")
    return Form(
        form_id=actions.REMOVAL_FORM,
        title=texts.NOTICE_FORM_TITLE if notice else texts.REQUEST_FORM_TITLE,
        submit_label=texts.NOTICE_SUBMIT if notice else texts.REQUEST_SUBMIT,
        intro=(texts.NOTICE_FORM_INTRO if notice else texts.REQUEST_FORM_INTRO).format(headteacher=headteacher),
        private_metadata=json.dumps({"poster": poster_user_id}),
        fields=(
            FormField("content", texts.FIELD_CONTENT, multiline=True, max_length=MAX_CONTENT_CHARS, initial=description),
            FormField("location", texts.FIELD_LOCATION, kind="choice", initial=location,
                      choices=tuple(Choice(value, label) for value, label in texts.LOCATIONS.items())),
            FormField("poster", texts.FIELD_POSTER, kind="person", required=False,
                      initial=values.get("poster") or (f"{PERSON_PREFIX}{poster_user_id}" if poster_user_id else ""),
                      choices=await _poster_choices(context, message.conversation.platform)),
            FormField("reason", texts.FIELD_REASON, multiline=True, required=False, max_length=MAX_REASON_CHARS,
                      initial=values.get("reason", "")),
            FormField("clause", texts.FIELD_CLAUSE, kind="choice", required=False, choices=clause_choices,
                      initial=values.get("clause") or SUGGEST,
                      hint=texts.CLAUSE_HINT.format(section=suggestion[0]) if suggestion else ""),
        ),
    )


async def start(*, context: FlowContext, message: IncomingMessage) -> list[Reply]:
    """From the words, `/policy remove`, a card's button or the Slack message shortcut (whose value
    carries the message's text, link and author)."""
    description, poster = _typed_description(message.text), ""
    if message.click is not None:
        data = actions.decode(message.click.value) or {}
        parts = [str(data.get(key) or "").strip() for key in ("link", "text")]
        description = "\n".join(part for part in parts if part)[:MAX_CONTENT_CHARS]
        poster = str(data.get("poster_user_id") or "")[:255]
    notice = await decider_role(context, message.conversation) is not None
    form = await _form(context, message, notice=notice, description=description, poster_user_id=poster)
    return [Reply(text="", form=form, private=True)]


def _poster_from(value: str, metadata_poster: str, platform: str) -> repo.Poster | None:
    value = value.strip()
    if value.startswith(PERSON_PREFIX) and len(value) > len(PERSON_PREFIX):
        return repo.Poster(platform=platform, user_id=value[len(PERSON_PREFIX):][:255], name="")
    if value:
        return repo.Poster(platform=None, user_id=None, name=value[:200])
    if metadata_poster:
        return repo.Poster(platform=platform, user_id=metadata_poster, name="")
    return None


async def submit(*, context: FlowContext, message: IncomingMessage) -> list[Reply]:
    values = {key: str(value) for key, value in message.form.values.items()}
    content = values.get("content", "").strip()
    decider = await decider_role(context, message.conversation)
    metadata = actions.decode(message.form.private_metadata) or {}
    metadata_poster = metadata.get("poster") if isinstance(metadata.get("poster"), str) else ""

    async def again(field: str, problem: str) -> list[Reply]:
        form = await _form(context, message, notice=decider is not None, poster_user_id=metadata_poster, values=values)
        return [Reply(text="", form=form, form_errors=((field, problem),), in_form=True, private=True)]

    if not content:
        return await again("content", texts.CONTENT_EMPTY)
    location = values.get("location") if values.get("location") in texts.LOCATIONS else "elsewhere"
    platform = message.conversation.platform
    poster = _poster_from(values.get("poster", ""), metadata_poster, platform)
    if poster is not None and poster.user_id and not poster.name:
        poster = replace(poster, name=await repo.display_name_of(session=context.session, platform=platform, user_id=poster.user_id)
                         or _known_name(await _poster_choices(context, platform), poster.user_id))
    clause = _suggested_clause(context, content, values.get("clause", ""))
    details = dict(
        description=content, location=location, reason=values.get("reason", "").strip(), poster=poster,
        clause_section=clause[0] if clause else None, clause_text=clause[1] if clause else None,
    )
    try:
        if decider is not None:
            request = await repo.issue_removal_notice(
                session=context.session, decider=actor_of(message, decider), decider_name=await name_of(context, message.conversation),
                deadline_hours=context.removal_deadline_hours, **details,
            )
            view = Removal.from_request(request, names=context.names)
            return [Reply(text=texts.NOTICE_SENT.format(acting=view.acting, due=when(context.names, view.due_at)), in_form=True, private=True)]
        await repo.create_removal_request(
            session=context.session, requester=actor_of(message, "staff"), requester_name=message.conversation.user_name, **details,
        )
    except TextTooLong as error:
        return await again("content", report_texts.TOO_LONG.format(limit=error.limit))
    return [Reply(text=texts.REQUEST_SENT.format(headteacher=context.headteacher), in_form=True, private=True)]


def _known_name(choices: tuple[Choice, ...], user_id: str) -> str:
    return next((choice.label for choice in choices if choice.value == f"{PERSON_PREFIX}{user_id}"), "")


# --- Cards -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Removal:
    """What a card about a removal shows, read from a notification's payload or from storage."""

    id: int
    description: str
    location: str
    reason: str
    clause: tuple[str, str] | None
    poster: str
    asker: str
    requested_at: object
    asker_ref: ConversationRef | None = None
    poster_ref: ConversationRef | None = None
    # The role that must remove it (None: the named poster); the headteacher's notice reads differently.
    actor_role: str | None = None
    status: str = "pending"
    decided_by: str = ""
    decided_at: object = None
    acting: str = ""
    due_at: object = None
    removed_by: str = ""
    removed_at: object = None
    note: str = ""

    @classmethod
    def from_payload(cls, payload: dict, *, names: RoleNames) -> "Removal":
        section, quote = payload.get("clause_section"), payload.get("clause_text")
        return cls(
            id=int(payload.get("request_id") or 0), description=payload.get("description") or "",
            location=payload.get("location") or "elsewhere", reason=payload.get("reason") or "",
            clause=(section, quote) if section and quote else None, poster=payload.get("poster_name") or "",
            asker=payload.get("requester_name") or "", requested_at=payload.get("requested_at"),
            asker_ref=person_ref(payload.get("requester_platform"), payload.get("requester_user_id"), payload.get("requester_name")),
            poster_ref=person_ref(payload.get("poster_platform"), payload.get("poster_user_id"), payload.get("poster_name")),
            actor_role=payload.get("actor_role"),
            decided_by=payload.get("decider_name") or names.headteacher, acting=_acting(payload.get("acting"), names),
            due_at=payload.get("due_at"), removed_by=payload.get("removed_by_name") or "", removed_at=payload.get("removed_at"),
            note=payload.get("note") or "",
        )

    @classmethod
    def from_request(cls, request, *, names: RoleNames) -> "Removal":
        section, quote = request.clause_section, request.clause_text
        return cls(
            id=request.id, description=request.description, location=request.location, reason=request.reason,
            clause=(section, quote) if section and quote else None, poster=request.poster_name, asker=request.requester_name,
            requested_at=request.created_at,
            asker_ref=person_ref(request.requester_platform, request.requester_user_id, request.requester_name),
            poster_ref=person_ref(request.poster_platform, request.poster_user_id, request.poster_name),
            actor_role=request.actor_role, status=request.status, decided_by=request.decided_by_name or names.headteacher,
            decided_at=request.decided_at, acting=_acting(request.poster_name or request.actor_role, names),
            due_at=request.due_at, removed_by=request.removed_by_name, removed_at=request.removed_at,
            note=request.decision_note or "",
        )


def _acting(acting: str | None, names: RoleNames) -> str:
    """Who must remove it: a named colleague, or a role's name."""
    if not acting:
        return texts.SOMEONE_LOWER
    role = texts.ACTING_ROLES.get(acting)
    return role.format(headteacher=names.headteacher) if role else acting


def state_of(removal: Removal, *, names: RoleNames) -> str:
    if removal.status == "removed":
        return texts.STATE_REMOVED.format(who=removal.removed_by or removal.acting, when=when(names, removal.removed_at))
    if removal.status == "rejected":
        return texts.STATE_REJECTED.format(who=removal.decided_by, when=when(names, removal.decided_at))
    if removal.status == "approved":
        return texts.STATE_APPROVED.format(who=removal.decided_by, when=when(names, removal.decided_at),
                                           acting=removal.acting, due=when(names, removal.due_at))
    return texts.STATE_PENDING


def _value(removal: Removal) -> str:
    return json.dumps({"removal": removal.id})


def _content_facts(removal: Removal) -> list[Fact]:
    facts = [Fact(texts.FACT_WHERE, texts.LOCATIONS.get(removal.location, texts.LOCATIONS["elsewhere"]))]
    if removal.poster or removal.poster_ref:
        facts.append(Fact(texts.FACT_POSTER, removal.poster, person=removal.poster_ref))
    return facts


def _body(removal: Removal, *, intro: str = "") -> str:
    parts = [intro] if intro else []
    parts.append(f"{texts.FACT_CONTENT}:\n{removal.description}")
    if removal.reason:
        parts.append(f"{texts.FACT_REASON}:\n{removal.reason}")
    return "\n\n".join(parts)


def request_card(removal: Removal, *, names: RoleNames, replaces: str | None = None) -> Reply:
    """For whoever decides: the request, and Approve / Reject while it waits."""
    pending = removal.status == "pending"
    buttons = (
        Button(label=texts.APPROVE_BUTTON, action_id=actions.REMOVAL_APPROVE, value=_value(removal), style="primary"),
        Button(label=texts.REJECT_BUTTON, action_id=actions.REMOVAL_REJECT, value=_value(removal), style="danger"),
    ) if pending else ()
    facts = _content_facts(removal)
    if removal.asker_ref:
        facts.insert(0, Fact(conversation_texts.ASKED_BY, removal.asker, person=removal.asker_ref))
    if removal.requested_at:
        facts.append(Fact(texts.FACT_REQUESTED, when(names, removal.requested_at)))
    facts.append(Fact(texts.FACT_STATE, state_of(removal, names=names)))
    return Reply(
        text=_body(removal),
        title=texts.REQUEST_TITLE.format(asker=asker_name(removal.asker, start=False)),
        icon="🧹",
        quotes=(Quote(section=removal.clause[0], text=removal.clause[1]),) if removal.clause else (),
        facts=tuple(facts),
        buttons=buttons,
        notification_text=texts.REQUEST_NOTIFICATION,
        replaces_message_id=replaces,
    )


def notice_card(removal: Removal, *, names: RoleNames, overdue: bool = False, replaces: str | None = None) -> Reply:
    """For whoever must take it down: what, why, the clause, the deadline and "Removed"."""
    due = when(names, removal.due_at)
    for_headteacher = removal.actor_role == repo.HEADTEACHER
    intro = texts.NOTICE_INTRO_FOR_HEADTEACHER if for_headteacher else texts.NOTICE_INTRO.format(who=removal.decided_by)
    removed = removal.status == "removed"
    facts = [*_content_facts(removal), Fact(texts.FACT_DUE, due)]
    if removed:
        facts.append(Fact(texts.FACT_STATE, state_of(removal, names=names)))
    return Reply(
        text=_body(removal, intro=intro) + ("" if removed else f"\n\n{texts.NOTICE_REMOVED_HINT}"),
        title=texts.DONE_TITLE if removed else texts.NOTICE_OVERDUE_TITLE if overdue else texts.NOTICE_TITLE.format(due=due),
        icon="⏰" if overdue else "🧹",
        quotes=(Quote(section=removal.clause[0], text=removal.clause[1]),) if removal.clause else (),
        facts=tuple(facts),
        buttons=() if removed else (
            Button(label=texts.REMOVED_BUTTON, action_id=actions.REMOVAL_DONE, value=_value(removal), style="primary"),
        ),
        notification_text=texts.NOTICE_NOTIFICATION,
        replaces_message_id=replaces,
    )


# --- Buttons -----------------------------------------------------------------------------------------


async def _request(context: FlowContext, value: str):
    request_id = number_in(value, "removal")
    request = None if request_id is None else await repo.get_removal_request(session=context.session, request_id=request_id)
    return request


def _gone(in_form: bool = False) -> list[Reply]:
    return [Reply(text=texts.REMOVAL_GONE, private=True, in_form=in_form)]


def _already(request, *, names: RoleNames, card: str | None, in_form: bool = False) -> list[Reply]:
    """A click on a card older than the latest decision: what happened, and the card as it is now."""
    removal = Removal.from_request(request, names=names)
    said = Reply(text=texts.ALREADY_DECIDED.format(state=state_of(removal, names=names)), private=True, in_form=in_form)
    return [said, request_card(removal, names=names, replaces=card)] if card else [said]


async def _decider_and_request(context: FlowContext, message: IncomingMessage, value: str, *, in_form: bool = False):
    """(the deciding actor, the request, None), or (None, None, the replies saying why not)."""
    actor, refusal = await decider_or_refusal(context, message)
    if refusal is not None:
        return None, None, [replace(refusal, in_form=in_form)]
    request = await _request(context, value)
    if request is None:
        return None, None, _gone(in_form=in_form)
    if await leaves_it_to_another(context, message.conversation, platform=request.poster_platform, user_id=request.poster_user_id):
        return None, None, [Reply(text=texts.OWN_POST, private=True, in_form=in_form)]
    return actor, request, None


async def approve(*, context: FlowContext, message: IncomingMessage) -> list[Reply]:
    actor, request, refusal = await _decider_and_request(context, message, message.click.value)
    if refusal is not None:
        return refusal
    card = message.click.message_id
    try:
        decided = await repo.decide_removal_request(
            session=context.session, request_id=request.id, actor=actor, approve=True,
            decider_name=await name_of(context, message.conversation), deadline_hours=context.removal_deadline_hours,
        )
    except AlreadyDecided:
        return _already(await repo.get_removal_request(session=context.session, request_id=request.id), names=context.names, card=card)
    removal = Removal.from_request(decided, names=context.names)
    said = Reply(text=state_of(removal, names=context.names), private=True)
    return [said, request_card(removal, names=context.names, replaces=card)] if card else [said]


def _reject_form(request_id: int, card: str | None) -> Form:
    return Form(
        form_id=actions.REMOVAL_REJECT_FORM, title=texts.REJECT_FORM_TITLE, submit_label=texts.REJECT_SUBMIT,
        private_metadata=json.dumps({"removal": request_id, "card": card or ""}),
        fields=(FormField("reason", texts.FIELD_REJECT_REASON, multiline=True, max_length=MAX_REASON_CHARS),),
    )


async def open_reject_form(*, context: FlowContext, message: IncomingMessage) -> list[Reply]:
    _actor, request, refusal = await _decider_and_request(context, message, message.click.value)
    if refusal is not None:
        return refusal
    if request.status != "pending":
        return _already(request, names=context.names, card=message.click.message_id)
    return [Reply(text="", form=_reject_form(request.id, message.click.message_id), private=True)]


async def submit_reject(*, context: FlowContext, message: IncomingMessage) -> list[Reply]:
    actor, request, refusal = await _decider_and_request(context, message, message.form.private_metadata, in_form=True)
    if refusal is not None:
        return refusal
    metadata = actions.decode(message.form.private_metadata) or {}
    card = metadata.get("card") if isinstance(metadata.get("card"), str) and metadata.get("card") else None
    reason = message.form.values.get("reason", "").strip()
    if not reason:
        return [Reply(text="", form=_reject_form(request.id, card), form_errors=(("reason", texts.REJECT_REASON_EMPTY),),
                      in_form=True, private=True)]
    try:
        decided = await repo.decide_removal_request(
            session=context.session, request_id=request.id, actor=actor, approve=False, note=reason,
            decider_name=await name_of(context, message.conversation),
        )
    except AlreadyDecided:
        current = await repo.get_removal_request(session=context.session, request_id=request.id)
        return _already(current, names=context.names, card=card, in_form=True)
    except TextTooLong as error:
        return [Reply(text="", form=_reject_form(request.id, card),
                      form_errors=(("reason", report_texts.TOO_LONG.format(limit=error.limit)),), in_form=True, private=True)]
    replies = [Reply(text=texts.REJECTED_SENT, in_form=True, private=True)]
    if card:
        replies.append(request_card(Removal.from_request(decided, names=context.names), names=context.names, replaces=card))
    return replies


async def _may_confirm(context: FlowContext, message: IncomingMessage, request) -> str | None:
    """The role (or "staff", for the named poster) under which this person may confirm the removal."""
    person = message.conversation
    held = await repo.roles_of(session=context.session, platform=person.platform, user_id=person.user_id)
    decider = next((role for role in repo.DECIDER_ROLES if role in held), None)
    if decider:
        return decider
    if request.actor_role and request.actor_role in held:
        return request.actor_role
    if (request.poster_platform, request.poster_user_id) == (person.platform, person.user_id):
        return "staff"
    return None


async def confirm(*, context: FlowContext, message: IncomingMessage) -> list[Reply]:
    request = await _request(context, message.click.value)
    if request is None:
        return _gone()
    role = await _may_confirm(context, message, request)
    if role is None:
        return [Reply(text=texts.ONLY_THE_ACTOR.format(headteacher=context.headteacher), private=True)]
    card = message.click.message_id
    try:
        done = await repo.confirm_removed(
            session=context.session, request_id=request.id, actor=actor_of(message, role),
            actor_name=await name_of(context, message.conversation),
        )
    except AlreadyDecided:
        current = Removal.from_request(await repo.get_removal_request(session=context.session, request_id=request.id), names=context.names)
        text = texts.ALREADY_DECIDED.format(state=state_of(current, names=context.names)) if current.status == "removed" else texts.NOT_APPROVED_YET
        said = Reply(text=text, private=True)
        return [said, notice_card(current, names=context.names, replaces=card)] if card and current.status == "removed" else [said]
    removal = Removal.from_request(done, names=context.names)
    said = Reply(text=texts.REMOVED_THANKS, private=True)
    return [said, notice_card(removal, names=context.names, replaces=card)] if card else [said]


# --- Notifications -----------------------------------------------------------------------------------


def requested_message(payload: dict, *, names: RoleNames) -> Reply:
    return request_card(Removal.from_payload(payload, names=names), names=names)


def notice_message(payload: dict, *, names: RoleNames) -> Reply:
    removal = Removal.from_payload(payload, names=names)
    return notice_card(removal, names=names, overdue=bool(payload.get("overdue")))


def overdue_message(payload: dict, *, names: RoleNames) -> Reply:
    if not payload.get("for_decider"):
        return notice_message(payload, names=names)
    removal = Removal.from_payload(payload, names=names)
    return Reply(
        text=texts.OVERDUE_FOR_DECIDER.format(acting=removal.acting, due=when(names, removal.due_at)) + "\n\n" + _body(removal),
        title=texts.OVERDUE_FOR_DECIDER_TITLE,
        icon="⏰",
        facts=tuple(_content_facts(removal)),
        buttons=(Button(label=texts.REMOVED_BUTTON, action_id=actions.REMOVAL_DONE, value=_value(removal)),),
        notification_text=texts.OVERDUE_FOR_DECIDER_TITLE,
    )


def decided_message(payload: dict, *, names: RoleNames) -> Reply:
    removal = Removal.from_payload(payload, names=names)
    headteacher = payload.get("decider_name") or names.headteacher
    if payload.get("status") == "approved":
        title = texts.DECIDED_APPROVED_TITLE.format(headteacher=headteacher)
        text = texts.DECIDED_APPROVED.format(acting=removal.acting, due=when(names, removal.due_at))
    else:
        title = texts.DECIDED_REJECTED_TITLE.format(headteacher=headteacher)
        text = texts.DECIDED_REJECTED.format(note=removal.note or "—")
    text = text[:1].upper() + text[1:]
    return Reply(text=f"{text}\n\n{_body(removal)}", title=title[:1].upper() + title[1:], icon="🧹")


def done_message(payload: dict, *, names: RoleNames) -> Reply:
    removal = Removal.from_payload(payload, names=names)
    return Reply(
        text=texts.DONE.format(who=removal.removed_by or removal.acting, when=when(names, removal.removed_at)) + "\n\n" + _body(removal),
        title=texts.DONE_TITLE,
        icon="✅",
    )


# Buttons whose value is what the person pointed at, not the bot's word, taken unsigned: the Slack message
# shortcut's value is the message it was pressed on, made by the adapter. Like the words of `remove: …`, it
# only fills in the form the person then sends (whose own metadata is signed).
UNSIGNED_ACTIONS = frozenset({actions.REMOVAL_START})
ACTIONS = {
    actions.REMOVAL_START: start,
    actions.REMOVAL_APPROVE: approve,
    actions.REMOVAL_REJECT: open_reject_form,
    actions.REMOVAL_DONE: confirm,
}
FORMS = {actions.REMOVAL_FORM: submit, actions.REMOVAL_REJECT_FORM: submit_reject}
NOTIFICATIONS = {
    "removal_requested": requested_message,
    "removal_notice": notice_message,
    "removal_overdue": overdue_message,
    "removal_decided": decided_message,
    "removal_done": done_message,
}
FOR_DECIDERS = frozenset(NOTIFICATIONS)
