"""Following up a report: the reporter opens their case with its code and secret, reads every reply, and
adds information or screenshots. A wrong secret and an unknown code get the same answer after the same
work; storage locks a case after repeated wrong secrets without recording who tried."""

from __future__ import annotations

import re

from handlers import actions, tokens
from handlers import report_texts as texts
from handlers.flow import FlowContext, day_label as _day
from handlers.messages import Button, Form, FormField, IncomingMessage, Reply
from handlers.report import sort_files
from storage import repository as repo
from storage.errors import CaseClosed, TextTooLong

# "add evidence to K7QP-3XMD", as typed with a screenshot in the chat.
ADD_EVIDENCE = re.compile(r"^\s*add\s+evidence\s+to\s+([A-Za-z0-9]{4}\s*-?\s*[A-Za-z0-9]{4})\b", re.IGNORECASE)


def wants_to_add_evidence(text: str) -> bool:
    return bool(ADD_EVIDENCE.match(text))


def follow_up_form(*, code: str = "") -> Form:
    return Form(
        form_id=actions.FOLLOW_UP_FORM,
        title=texts.FOLLOW_UP_TITLE,
        submit_label=texts.FOLLOW_UP_SUBMIT,
        intro=texts.FOLLOW_UP_INTRO,
        fields=(
            FormField("code", texts.FIELD_CODE, max_length=20, placeholder=texts.FIELD_CODE_PLACEHOLDER, initial=code),
            FormField("secret", texts.FIELD_SECRET, max_length=40),
        ),
    )


def add_form(*, token: str, code: str) -> Form:
    return Form(
        form_id=actions.REPORTER_MESSAGE_FORM,
        title=texts.ADD_MESSAGE_TITLE,
        submit_label=texts.ADD_MESSAGE_SUBMIT,
        fields=(
            FormField("more", texts.FIELD_MORE, multiline=True, required=False),
            FormField("evidence", texts.FIELD_EVIDENCE, kind="files", required=False,
                      hint=f"{texts.FIELD_EVIDENCE_HINT} {texts.ADD_EVIDENCE_HINT.format(code=code)}"),
        ),
        private_metadata=token,
    )


async def start(*, context: FlowContext, message: IncomingMessage) -> list[Reply]:
    if message.form_here:
        return [Reply(text="", form=follow_up_form(), private=True)]
    return [
        Reply(
            text=texts.FOLLOW_UP_WITH_BUTTON if message.is_direct or message.private else texts.START_IN_PRIVATE,
            buttons=(Button(label=texts.FOLLOW_UP_BUTTON, action_id=actions.FOLLOW_UP, value="{}"),)
            if message.is_direct or message.private else (),
            private=True,
        )
    ]


async def open_case(*, context: FlowContext, message: IncomingMessage) -> list[Reply]:
    code = message.form.values.get("code", "")
    secret = message.form.values.get("secret", "")
    view = await repo.open_case(session=context.session, code=code, secret=secret)
    if view is None:
        return [_no_match(code)]
    return [_case_reply(context, view, secret=secret)]


def _no_match(code: str) -> Reply:
    return Reply(text="", form=follow_up_form(code=code[:20]), form_errors=(("code", texts.NO_MATCH),), in_form=True, private=True)


def _case_reply(context: FlowContext, view, *, secret: str, note: str = "") -> Reply:
    case = view.case
    state = texts.CASE_STATE.get(case.status, texts.CASE_STATE["open"]).format(
        opened=_day(case.opened_on), acknowledged=_day(case.acknowledged_on), closed=_day(case.closed_on)
    )
    lines = [note] if note else []
    lines += [state, texts.CASE_EVIDENCE.format(count=view.evidence_count), "", texts.CASE_MESSAGES_HEADING]
    if not view.messages:
        lines.append(texts.CASE_NO_MESSAGES)
    for item in view.messages:
        author = (
            texts.FROM_REPORTER.format(day=_day(item.sent_on))
            if item.author == "reporter"
            else texts.FROM_STAFF.format(role=context.names.at_start(item.author_role), day=_day(item.sent_on))
        )
        lines.append(f"{author}:\n{item.text}")
    form = None
    if case.status != repo.CLOSED:
        form = add_form(token=tokens.seal(context.cipher, code=case.code, secret=secret), code=case.code)
    return Reply(
        text="\n".join(lines),
        title=texts.CASE_TITLE.format(code=case.code),
        icon="🛡️",
        form=form,
        in_form=True,
        private=True,
    )


async def add_message(*, context: FlowContext, message: IncomingMessage) -> list[Reply]:
    opened = tokens.open_token(context.cipher, message.form.private_metadata)
    if opened is None:
        return [Reply(text=texts.FOLLOW_UP_EXPIRED, in_form=True, private=True)]
    code, secret = opened
    more = message.form.values.get("more", "").strip()
    accepted, refused = sort_files(message.form.files)
    if not more and not accepted:
        view = await repo.open_case(session=context.session, code=code, secret=secret)
        if view is None:
            return [_no_match(code)]
        return [_case_reply(context, view, secret=secret, note=texts.MESSAGE_EMPTY)]
    try:
        if more:
            view = await repo.add_reporter_message(session=context.session, code=code, secret=secret, text=more)
        else:
            view = await repo.open_case(session=context.session, code=code, secret=secret)
    except CaseClosed:
        return [Reply(text=texts.CASE_CLOSED_NO_MORE.format(code=code), in_form=True, private=True)]
    except TextTooLong as error:
        return [Reply(text=texts.TOO_LONG.format(limit=error.limit), in_form=True, private=True)]
    if view is None:
        return [_no_match(code)]
    if accepted:
        context.attach_evidence(case_id=view.case.id, files=accepted)
    notes = [texts.MESSAGE_ADDED.format(code=code, recipient=context.names.at_start(view.case.routed_to_role))]
    if accepted:
        notes.append(texts.EVIDENCE_PENDING.format(count=len(accepted)))
    return [_case_reply(context, view, secret=secret, note="\n".join(notes + refused))]


async def add_evidence_in_chat(*, context: FlowContext, message: IncomingMessage) -> list[Reply]:
    """A screenshot sent in the chat with "add evidence to K7QP-3XMD". The answer is the same whether or not
    the case exists, so it tells nobody which codes are real."""
    match = ADD_EVIDENCE.match(message.text)
    if match is None or not message.files:
        return [Reply(text=texts.EVIDENCE_HOW, private=True)]
    code = match.group(1).upper().replace(" ", "")
    accepted, refused = sort_files(message.files)
    case_id = await repo.case_id_for_code(session=context.session, code=code)
    if case_id is not None and accepted:
        context.attach_evidence(case_id=case_id, files=accepted)
    shown = code if "-" in code else f"{code[:4]}-{code[4:]}"
    return [Reply(text="\n\n".join([texts.EVIDENCE_RECEIVED.format(code=shown), *refused]), private=True)]


ACTIONS = {actions.FOLLOW_UP: start}
FORMS = {actions.FOLLOW_UP_FORM: open_case, actions.REPORTER_MESSAGE_FORM: add_message}
