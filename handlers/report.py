"""Making a report: the offer on an answer, the private form, and what the reporter sees once it is sent.

The form is private on every platform (a Slack modal, a Teams card in the one-to-one chat that is
replaced once sent). A report is anonymous unless the reporter chooses otherwise: nothing of who they are
reaches storage, and the case code and secret are shown once, in the form itself, never in the chat.
"""

from __future__ import annotations

import json

from handlers import actions, evidence
from handlers import report_texts as texts
from handlers.flow import FlowContext
from handlers.messages import Button, Choice, Form, FormField, IncomingMessage, Reply
from storage import repository as repo
from storage.errors import TextTooLong

KIND_VALUES = frozenset(value for value, _ in texts.KINDS)
IDENTITY_VALUES = frozenset(value for value, _ in texts.IDENTITIES)
DETAIL_FIELDS = ("where", "link", "who", "when")
MAX_DETAIL_CHARS = 2000


def offer(*, message: IncomingMessage) -> Reply:
    """Shown above the advisor's answer when someone describes an incident."""
    return Reply(
        text=texts.OFFER,
        title=texts.OFFER_TITLE,
        icon="🛡️",
        buttons=(Button(label=texts.START_BUTTON, action_id=actions.START_REPORT, value="{}", style="primary"),),
        private=message.private,
    )


def report_form(*, context: FlowContext, values: dict[str, str] | None = None) -> Form:
    values = values or {}
    return Form(
        form_id=actions.REPORT_FORM,
        title=texts.FORM_TITLE,
        submit_label=texts.FORM_SUBMIT,
        intro=texts.FORM_INTRO.format(headteacher=context.headteacher),
        fields=(
            FormField("what", texts.FIELD_WHAT, multiline=True, placeholder=texts.FIELD_WHAT_PLACEHOLDER, initial=values.get("what", "")),
            FormField(
                "kind", texts.FIELD_KIND, kind="choice", choices=tuple(Choice(v, label) for v, label in texts.KINDS),
                initial=values.get("kind", ""),
            ),
            FormField("where", texts.FIELD_WHERE, required=False, max_length=200, initial=values.get("where", "")),
            FormField("link", texts.FIELD_LINK, required=False, max_length=MAX_DETAIL_CHARS, initial=values.get("link", "")),
            FormField("who", texts.FIELD_WHO, required=False, max_length=MAX_DETAIL_CHARS, initial=values.get("who", "")),
            FormField("when", texts.FIELD_WHEN, required=False, max_length=200, initial=values.get("when", "")),
            FormField(
                "about_headteacher", texts.FIELD_ABOUT_HEADTEACHER, kind="toggle", required=False,
                initial=values.get("about_headteacher", "false"), hint=texts.FIELD_ABOUT_HEADTEACHER_HINT,
            ),
            FormField(
                "identity", texts.FIELD_IDENTITY, kind="choice", choices=tuple(Choice(v, label) for v, label in texts.IDENTITIES),
                initial=values.get("identity", "anonymous"),
            ),
            FormField("evidence", texts.FIELD_EVIDENCE, kind="files", required=False, hint=texts.FIELD_EVIDENCE_HINT),
        ),
    )


async def start(*, context: FlowContext, message: IncomingMessage) -> list[Reply]:
    """Open the form where it can be private; elsewhere say how to get to it."""
    if message.form_here:
        return [Reply(text="", form=report_form(context=context), private=True)]
    if message.is_direct or message.private:
        return [
            Reply(
                text=texts.START_WITH_BUTTON,
                title=texts.START_TITLE,
                icon="🛡️",
                buttons=(Button(label=texts.START_BUTTON, action_id=actions.START_REPORT, value="{}", style="primary"),),
                private=True,
            )
        ]
    return [Reply(text=texts.START_IN_PRIVATE, private=True)]


async def submit(*, context: FlowContext, message: IncomingMessage) -> list[Reply]:
    form = message.form
    values = {key: value for key, value in form.values.items() if isinstance(value, str)}
    what = values.get("what", "").strip()
    if not what:
        return [_refused(context, values, ("what", texts.WHAT_HAPPENED_MISSING))]
    if values.get("kind") not in KIND_VALUES:
        # Chosen by the reporter, never guessed: it decides who else is told (the safeguarding lead).
        return [_refused(context, values, ("kind", texts.KIND_MISSING))]
    kind = values["kind"]
    identity = values.get("identity") if values.get("identity") in IDENTITY_VALUES else "anonymous"
    details = {name: values.get(name, "").strip()[:MAX_DETAIL_CHARS] for name in DETAIL_FIELDS}
    reporter = None
    if identity != "anonymous":
        person = message.conversation
        direct = identity == "named_direct"
        reporter = repo.NamedReporter(
            name=(person.user_name or person.user_id)[:200],
            platform=person.platform if direct else None,
            user_id=person.user_id if direct else None,
        )
    try:
        new = await repo.create_case(
            session=context.session,
            text=what,
            kind=kind,
            about_headteacher=values.get("about_headteacher") == "true",
            safeguarding=kind in texts.SAFEGUARDING_KINDS,
            urgent=kind in texts.URGENT_KINDS,
            details=details,
            reporter=reporter,
            notify_delay_seconds=context.notify_jitter_seconds,
        )
    except TextTooLong as error:
        return [_refused(context, values, ("what", texts.TOO_LONG.format(limit=error.limit)))]
    accepted, refused = sort_files(form.files)
    if accepted:
        context.attach_evidence(case_id=new.case.id, files=accepted)
    return [_sent(context, new, identity=identity, evidence_pending=len(accepted), refused=refused)]


def _refused(context: FlowContext, values: dict[str, str], error: tuple[str, str]) -> Reply:
    return Reply(text="", form=report_form(context=context, values=values), form_errors=(error,), in_form=True, private=True)


def sort_files(files) -> tuple[list, list[str]]:
    accepted, refused = [], []
    for file in files:
        reason = evidence.refusal(file)
        if reason is None:
            accepted.append(file)
        else:
            refused.append(texts.EVIDENCE_REFUSED.format(name=file.name or "a file", reason=reason))
    return accepted, refused


def _sent(context: FlowContext, new, *, identity: str, evidence_pending: int, refused: list[str]) -> Reply:
    recipient = context.names.of(new.recipients[0])
    steps = (texts.NEXT_STEPS_URGENT if new.case.urgent else texts.NEXT_STEPS).format(recipient=recipient)
    notes = []
    if identity == "named":
        notes.append(texts.NAMED_NOTE.format(recipient=recipient))
    elif identity == "named_direct":
        notes.append(texts.NAMED_DIRECT_NOTE)
    notes += [texts.NOBODY_HOLDS.format(role=context.names.of(role)) for role in new.unheld_roles]
    if evidence_pending:
        notes.append(texts.EVIDENCE_PENDING.format(count=evidence_pending))
    notes += refused
    body = texts.SUBMITTED.format(code=new.code, secret=new.secret, next_steps=steps)
    return Reply(
        text="\n\n".join([body, *notes]),
        title=texts.SUBMITTED_TITLE.format(code=new.code),
        icon="🛡️",
        quotes=context.support,
        buttons=(Button(label=texts.NOTED_BUTTON, action_id=actions.NOTED_SECRET, value=json.dumps({"code": new.code})),),
        in_form=True,
        private=True,
    )


async def noted(*, context: FlowContext, message: IncomingMessage) -> list[Reply]:
    """The reporter has written the secret down: the confirmation is redrawn without it."""
    data = actions.decode(message.click.value) or {}
    code = data.get("code") if isinstance(data.get("code"), str) else ""
    return [
        Reply(
            text=texts.SUBMITTED_NOTED.format(code=code[:9]),
            title=texts.NOTED_TITLE.format(code=code[:9]),
            icon="🛡️",
            quotes=context.support,
            replaces_message_id=message.click.message_id,
            in_form=True,
            private=True,
        )
    ]


ACTIONS = {actions.START_REPORT: start, actions.NOTED_SECRET: noted}
FORMS = {actions.REPORT_FORM: submit}
