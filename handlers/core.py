"""The conversation core: every platform adapter hands it neutral messages and renders what it returns.

    core = await ConversationCore.start(settings=settings)
    replies = await core.handle(message)        # list[Reply], possibly empty (a duplicate delivery)
    await core.remember_conversation(ref=ref)   # for proactive messages later
    await core.deliver(notification, senders={"slack": ..., "teams": ...})   # one outbox row, see deliver()
    await core.close()
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import asdict, fields, is_dataclass, replace
from typing import Protocol

from handlers import (
    actions, ask, ask_headteacher, case_handling, dashboard, decision_texts, evidence, follow_up, removal, report,
    report_texts, texts,
)
from handlers.flow import FlowContext, RoleNames
from handlers.messages import Button, ConversationRef, IncomingFile, IncomingMessage, Quote, Reply
from handlers.router import PRIVATE_ROUTES, Route, route
from handlers.shown_text import whole
from handlers.signing import Signer
from policy_kb.answer import Verdict
from storage import repository as repo
from storage.claims import EventClaims
from storage.errors import database_unreachable

log = logging.getLogger(__name__)

DEFAULT_HEADTEACHER = "the headteacher"


class PersonSender(Protocol):
    """One platform's way to message a person who did not write first (the headteacher, a role holder).
    Raises when the platform did not take the message."""

    async def __call__(self, *, user_id: str, reply: Reply) -> None: ...


class UnknownNotificationKind(Exception):
    """No flow renders this kind of notification yet; it stays in the outbox for a later version."""


class NoReachableRecipient(Exception):
    """Nobody to send a notification to on the platforms this server runs."""

    safe_to_log = True  # our own words: no message text, no reporter


class DeliveryFailed(Exception):
    """A platform did not take the message for at least one recipient. Built from the senders' errors,
    which hold Slack's error code or our own explanation, never the message."""

    safe_to_log = True


class ConversationCore:
    def __init__(
        self, *, advisor, database, headteacher_name: str = DEFAULT_HEADTEACHER, names: RoleNames | None = None,
        notify_jitter_seconds: float = 0, question_reminder_school_days: int = 2, removal_deadline_hours: float = 24,
    ) -> None:
        self.advisor = advisor
        self.database = database
        self.headteacher = headteacher_name or DEFAULT_HEADTEACHER
        self.names = names or RoleNames(headteacher=self.headteacher)
        self.notify_jitter_seconds = notify_jitter_seconds
        self.question_reminder_school_days = question_reminder_school_days
        self.removal_deadline_hours = removal_deadline_hours
        self._one_writer = asyncio.Lock() if getattr(database, "dialect", "") == "sqlite" else None
        # Button values and form metadata come back from the client: believed only when signed by us.
        self.signer = Signer.from_cipher(database.cipher)
        self._claims = EventClaims(transaction=self._transaction)
        self._background: set[asyncio.Task] = set()
        # The policy's own support clauses, shown to someone who has just reported (never written in code).
        self.support = _support_quotes(advisor)
        # Called after a click's transaction commits (clicks are what queue notifications), so the outbox
        # worker sends them now rather than at its next poll.
        self.wake_outbox: Callable[[], None] | None = None

    @classmethod
    async def start(cls, *, settings) -> "ConversationCore":
        # Imported here so that importing the core stays cheap for commands that never start it.
        from policy_kb.advisor import Advisor
        from storage.database import Database

        advisor = Advisor.load(settings=settings)
        database = await Database.open(settings=settings)
        names = RoleNames(
            headteacher=settings.headteacher_name or DEFAULT_HEADTEACHER,
            chair=settings.chair_of_governors_name,
            dsl=settings.safeguarding_lead_name,
            timezone=settings.school_timezone,
        )
        return cls(
            advisor=advisor, database=database, headteacher_name=settings.headteacher_name, names=names,
            notify_jitter_seconds=settings.notify_jitter_seconds,
            question_reminder_school_days=settings.question_reminder_school_days,
            removal_deadline_hours=settings.removal_deadline_hours,
        )

    async def handle(self, message: IncomingMessage) -> list[Reply]:
        """The replies to one message; [] when this delivery was already handled. Every button and form
        in them is signed (`handlers.signing`)."""
        return [self.signer.signed(reply) for reply in await self._handle(safe_text(message))]

    async def _handle(self, message: IncomingMessage) -> list[Reply]:
        try:
            message, refusal = self._verified(message)
            if refusal is not None:
                # Nothing is claimed or written: the value is not one this bot gave out.
                log.info("refused a %s button or form whose data was not signed by this bot", message.conversation.platform)
                return [refusal]
            chosen = route(message)
            # Answering a question is pure computation with no side effect: done before the transaction,
            # so the database (one writer at a time on SQLite) is held only for the claim itself.
            if chosen not in FLOW_ROUTES:
                replies = self._answer_without_storage(chosen, message)
                # Nothing to write but the claim: it joins the claims of other deliveries in one commit.
                if message.event_id and not await self._claims.claim(
                    platform=message.conversation.platform, event_id=message.event_id
                ):
                    log.info("ignored a repeated %s delivery", message.conversation.platform)  # no ids: they lead back to a person
                    return []
                return replies
            evidence_work: list[tuple[int, tuple[IncomingFile, ...]]] = []
            async with self._transaction() as session:
                # Claimed in the same transaction as the flow's own writes: a delivery that fails is
                # rolled back with its claim, so the platform's retry can still be answered. A reporter's
                # delivery keeps the day only: its time could be matched with the platform's records.
                if message.event_id and not await repo.claim_event(
                    session=session, platform=message.conversation.platform, event_id=message.event_id,
                    day_only=chosen in PRIVATE_ROUTES or self.is_private_flow(message),
                ):
                    log.info("ignored a repeated %s delivery", message.conversation.platform)  # no ids: they lead back to a person
                    return []
                context = self._context(session, attach_evidence=lambda *, case_id, files: evidence_work.append((case_id, tuple(files))))
                replies = await self._run_flow(chosen, context=context, message=message)
            for case_id, files in evidence_work:
                self._in_background(self._attach_evidence(case_id=case_id, files=files))
            if self.wake_outbox is not None:
                self.wake_outbox()
            return replies
        except Exception as error:
            # No message text in the log: it may be a report or name a pupil.
            if database_unreachable(error):
                # While the database is down every request fails alike: one line each, not a traceback.
                log.warning("could not reach the database for a %s message (%s); asked to try again", message.conversation.platform, type(error).__name__)
            else:
                log.exception("could not handle a %s message", message.conversation.platform)
            apology = texts.FORM_NOT_SAVED if message.form is not None else texts.SOMETHING_WENT_WRONG
            return [Reply(text=apology.format(headteacher=self.headteacher), private=True)]

    def _verified(self, message: IncomingMessage) -> tuple[IncomingMessage, Reply | None]:
        """The message with its click's value or form's metadata as the bot issued them, or the refusal
        when they do not carry the bot's signature for that very button or form (altered, moved to another
        button, or from before signing began)."""
        if message.click is not None:
            click = message.click
            value = self.signer.button_value(action_id=click.action_id, signed=click.value)
            if value is None and click.action_id in removal.UNSIGNED_ACTIONS:
                value = click.value
            if value is None:
                return message, Reply(text=texts.BUTTON_CHANGED, private=True)
            return replace(message, click=replace(click, value=value)), None
        if message.form is not None:
            form = message.form
            metadata = self.signer.form_metadata(form_id=form.form_id, signed=form.private_metadata)
            if metadata is None:
                return message, Reply(text=texts.FORM_CHANGED, in_form=True, private=True)
            return replace(message, form=replace(form, private_metadata=metadata)), None
        return message, None

    def _context(self, session, **work) -> FlowContext:
        return FlowContext(
            session=session, names=self.names, cipher=self.database.cipher, support=self.support,
            notify_jitter_seconds=self.notify_jitter_seconds, advisor=self.advisor,
            question_reminder_school_days=self.question_reminder_school_days,
            removal_deadline_hours=self.removal_deadline_hours, **work,
        )

    async def _run_flow(self, chosen: Route, *, context: FlowContext, message: IncomingMessage) -> list[Reply]:
        typed_flow = TYPED_FLOWS.get(chosen)
        if typed_flow is not None:
            return await typed_flow(context=context, message=message)
        if chosen is Route.FORM:
            flow = FORM_FLOWS.get(message.form.form_id)
            return await flow(context=context, message=message) if flow else [Reply(text=texts.FORM_NOT_EXPECTED, private=True)]
        flow = CLICK_FLOWS.get(message.click.action_id)
        return await flow(context=context, message=message) if flow else [Reply(text=texts.BUTTON_EXPIRED, private=True)]

    def is_private_flow(self, message: IncomingMessage) -> bool:
        """Whether the message is someone making or following up a report. Adapters then keep nothing of
        it (no conversation reference, no per-person row): no stored time moves when someone reports."""
        if message.click is not None:
            return message.click.action_id in actions.REPORTER_ACTIONS
        if message.form is not None:
            return message.form.form_id in actions.REPORTER_FORMS
        return route(message) in PRIVATE_ROUTES

    async def home(self, *, conversation: ConversationRef) -> list[Reply]:
        """What the platform's home page for the bot shows (the Slack App Home tab): how to use it, and
        what waits for this person (the `dashboard`)."""
        async with self.database.transaction() as session:
            waiting = await dashboard.overview(context=self._context(session), person=conversation)
        return [self.signer.signed(reply) for reply in (self._help(private=False), *waiting)]

    def _help(self, *, private: bool) -> Reply:
        return Reply(
            text=texts.HELP_TEXT.format(headteacher=self.headteacher),
            title=texts.HELP_TITLE,
            icon="👋",
            buttons=(
                Button(label=report_texts.START_BUTTON, action_id=actions.START_REPORT, value="{}", style="primary"),
                Button(label=report_texts.FOLLOW_UP_BUTTON, action_id=actions.FOLLOW_UP, value="{}"),
                Button(label=decision_texts.REMOVAL_BUTTON, action_id=actions.REMOVAL_START, value="{}"),
            ),
            private=private,
        )

    def _in_background(self, work) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def wait_for_background(self) -> None:
        """Until the work started after earlier answers (evidence downloads) has finished."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    async def _attach_evidence(self, *, case_id: int, files: tuple[IncomingFile, ...]) -> None:
        for file in files:
            try:
                clean = await evidence.fetch_clean(file)
            except Exception as error:  # a failed or refused download loses that file only, never the report
                # Never the file's name or address: they may say who uploaded it.
                log.warning("a screenshot could not be attached: %s", type(error).__name__)
                continue
            async with self._transaction() as session:
                await repo.add_evidence(session=session, case_id=case_id, content=clean, mimetype=evidence.STORED_TYPE)

    @asynccontextmanager
    async def _transaction(self):
        if self._one_writer is None:
            async with self.database.transaction() as session:
                yield session
            return
        # SQLite lets one transaction write at a time; queueing here instead of in SQLite's busy handler
        # (which sleeps in growing steps) keeps answers from waiting far longer than the write takes.
        async with self._one_writer:
            async with self.database.transaction() as session:
                yield session

    async def remember_conversation(self, *, ref: ConversationRef) -> None:
        reference = ref.raw or {key: value for key, value in asdict(ref).items() if key != "raw"}
        async with self._transaction() as session:
            await repo.save_conversation_reference(
                session=session,
                platform=ref.platform,
                user_id=ref.user_id,
                conversation_id=ref.conversation_id,
                reference=reference,
            )

    async def conversation_reference(self, *, platform: str, user_id: str) -> dict | None:
        async with self.database.transaction() as session:
            return await repo.get_conversation_reference(session=session, platform=platform, user_id=user_id)

    async def deliver(self, notification, *, senders: Mapping[str, PersonSender]) -> None:
        """Send one outbox notification (`storage.repository.ClaimedNotification`) to its recipient, or to
        every holder of its role on the platforms in `senders`. Raises when it must be tried again: the
        outbox keeps it pending. A recipient who got it before a later one failed is not sent it again on Slack
        (its sender looks for the `delivery_key` first); on Teams they may get it twice."""
        reply = replace(self._notification_message(notification), delivery_key=f"notification-{notification.id}")
        if notification.recipient_role is not None:
            # What the headteacher decides, a deputy they named may decide too; reports stay with the role.
            roles = (
                repo.DECIDER_ROLES
                if notification.recipient_role == repo.HEADTEACHER and notification.kind in FOR_DECIDERS
                else (notification.recipient_role,)
            )
            async with self.database.transaction() as session:
                holders = [h for role in roles for h in await repo.list_role_holders(session=session, role=role)]
            recipients = list(dict.fromkeys((holder.platform, holder.user_id) for holder in holders))
        else:
            recipients = [(notification.recipient_platform, notification.recipient_user_id)]
        reachable = [(platform, user_id) for platform, user_id in recipients if platform in senders]
        if not reachable:
            raise NoReachableRecipient(
                f"no {notification.recipient_role or 'recipient'} on {', '.join(senders) or 'any platform'} yet"
            )
        failures = []
        for platform, user_id in reachable:
            try:
                await senders[platform](user_id=user_id, reply=reply)
            except Exception as error:  # one holder's platform failing must not stop the others
                failures.append(f"{platform}: {type(error).__name__}: {error}")
        if failures:
            raise DeliveryFailed("; ".join(failures))

    def _notification_message(self, notification) -> Reply:
        render = NOTIFICATIONS.get(notification.kind)
        if render is None:
            raise UnknownNotificationKind(f"no message for {notification.kind!r} notifications in this version")
        return self.signer.signed(render(notification.payload, names=self.names))

    async def send_reminders(self, *, now=None) -> int:
        """Queue the reminders due by `now` (a frozen clock in tests): cases' deadlines, questions left
        unanswered, removals not confirmed by their deadline. Returns how many things were reminded of."""
        async with self._transaction() as session:
            reminded = await repo.send_case_reminders(session=session, on=now.date() if now else None)
            reminded += await repo.send_escalation_reminders(session=session, now=now)
            reminded += await repo.send_removal_reminders(session=session, now=now)
        if reminded and self.wake_outbox is not None:
            self.wake_outbox()
        return reminded

    async def close(self) -> None:
        await self.wait_for_background()
        await self._claims.close()
        await self.database.close()

    def _answer_without_storage(self, chosen: Route, message: IncomingMessage) -> list[Reply]:
        match chosen:
            case Route.EMPTY:
                return [Reply(text=texts.EMPTY_QUESTION, private=message.private)]
            case Route.HELP:
                return [self._help(private=message.private)]
            case Route.ASK | Route.REPORT_OFFER:
                answer = self._answer(message)
                if chosen is Route.REPORT_OFFER or answer.verdict == Verdict.REPORT.value:
                    return [report.offer(message=message), answer]
                return [answer]
        raise AssertionError(f"route {chosen} needs storage")

    def _answer(self, message: IncomingMessage) -> Reply:
        return ask.ask(
            advisor=self.advisor, message=message, question=message.text.strip(), headteacher=self.headteacher
        )


def _safe(text: str) -> str:
    # UTF-16 halves: a platform's JSON can carry one without its pair ("\ud83d"), which no encoder, cipher
    # or database takes. A whole pair written as two halves is kept as the character it makes.
    return whole(text) if _SURROGATE.search(text) else text


_SURROGATE = re.compile("[\ud800-\udfff]")


def safe_text(thing):
    """`thing` (an IncomingMessage, and everything in it) with every lone surrogate replaced by U+FFFD,
    so that no flow (hashing, encrypting, storing as JSON) can be broken by one."""
    # Every message passes through here: what holds no surrogate is returned as it is, not copied.
    if isinstance(thing, str):
        return _safe(thing)
    if isinstance(thing, (tuple, list)):
        cleaned = type(thing)(safe_text(item) for item in thing)
        return thing if cleaned == thing else cleaned
    if isinstance(thing, dict):
        cleaned = {safe_text(key): safe_text(value) for key, value in thing.items()}
        return thing if cleaned == thing else cleaned
    if is_dataclass(thing) and not isinstance(thing, type):
        changed = {}
        for item in fields(thing):
            if item.init and (new := safe_text(old := getattr(thing, item.name))) is not old:
                changed[item.name] = new
        return replace(thing, **changed) if changed else thing
    return thing


def _support_quotes(advisor) -> tuple[Quote, ...]:
    document = getattr(advisor, "document", None)
    for section in getattr(document, "sections", ()):
        if "support" in section.heading.lower():
            return tuple(Quote(section=section.heading, text=clause.text) for clause in section.clauses)
    return ()


async def _helpful(*, context: FlowContext, message: IncomingMessage) -> list[Reply]:
    return [await ask.record_feedback(session=context.session, repo=repo, message=message, helpful=True, headteacher=context.headteacher)]


async def _not_helpful(*, context: FlowContext, message: IncomingMessage) -> list[Reply]:
    return [await ask.record_feedback(session=context.session, repo=repo, message=message, helpful=False, headteacher=context.headteacher)]


# The flows, found by the id of the button pressed or the form sent (like bolt's listener registry).
CLICK_FLOWS = {
    actions.FEEDBACK_HELPFUL: _helpful,
    actions.FEEDBACK_NOT_HELPFUL: _not_helpful,
    **report.ACTIONS,
    **follow_up.ACTIONS,
    **case_handling.ACTIONS,
    **ask_headteacher.ACTIONS,
    **removal.ACTIONS,
    **dashboard.ACTIONS,
}
FORM_FLOWS = {**report.FORMS, **follow_up.FORMS, **case_handling.FORMS, **ask_headteacher.FORMS, **removal.FORMS}
# Typed words that start a flow needing storage.
TYPED_FLOWS = {
    Route.REPORT_START: report.start,
    Route.FOLLOW_UP: follow_up.start,
    Route.ADD_EVIDENCE: follow_up.add_evidence_in_chat,
    Route.ASK_HEADTEACHER: ask_headteacher.typed,
    Route.REMOVAL_START: removal.start,
    Route.DASHBOARD: dashboard.show,
}
FLOW_ROUTES = frozenset({Route.CLICK, Route.FORM, *TYPED_FLOWS})
# Notification kinds and the flows that render them.
NOTIFICATIONS = {**case_handling.NOTIFICATIONS, **ask_headteacher.NOTIFICATIONS, **removal.NOTIFICATIONS}
FOR_DECIDERS = ask_headteacher.FOR_DECIDERS | removal.FOR_DECIDERS
