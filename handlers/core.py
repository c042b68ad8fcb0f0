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
from collections.abc import Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import asdict
from typing import Protocol

from handlers import actions, ask, report, texts
from handlers.messages import ConversationRef, IncomingMessage, Reply
from handlers.router import Route, route
from policy_kb.answer import Verdict
from storage import repository as repo
from storage.claims import EventClaims

log = logging.getLogger(__name__)

DEFAULT_HEADTEACHER = "the headteacher"


class PersonSender(Protocol):
    """One platform's way to message a person who did not write first (the headteacher, a role holder).
    `asker` is who the message is about, for platforms that can show a person natively. Raises when the
    platform did not take the message."""

    async def __call__(self, *, user_id: str, reply: Reply, asker: ConversationRef | None) -> None: ...


class UnknownNotificationKind(Exception):
    """No flow renders this kind of notification yet; it stays in the outbox for a later version."""


class NoReachableRecipient(Exception):
    """Nobody to send a notification to on the platforms this server runs."""


class DeliveryFailed(Exception):
    """A platform did not take the message for at least one recipient."""


class ConversationCore:
    def __init__(self, *, advisor, database, headteacher_name: str = DEFAULT_HEADTEACHER) -> None:
        self.advisor = advisor
        self.database = database
        self.headteacher = headteacher_name or DEFAULT_HEADTEACHER
        self._one_writer = asyncio.Lock() if getattr(database, "dialect", "") == "sqlite" else None
        self._claims = EventClaims(transaction=self._transaction)
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
        return cls(advisor=advisor, database=database, headteacher_name=settings.headteacher_name)

    async def handle(self, message: IncomingMessage) -> list[Reply]:
        """The replies to one message; [] when this delivery was already handled."""
        try:
            chosen = route(message)
            # Answering a question is pure computation with no side effect: done before the transaction,
            # so the database (one writer at a time on SQLite) is held only for the claim itself.
            if chosen is not Route.CLICK:
                replies = self._answer_without_storage(chosen, message)
                # Nothing to write but the claim: it joins the claims of other deliveries in one commit.
                if message.event_id and not await self._claims.claim(
                    platform=message.conversation.platform, event_id=message.event_id
                ):
                    log.info("ignored a repeated %s delivery", message.conversation.platform)  # no ids: they lead back to a person
                    return []
                return replies
            async with self._transaction() as session:
                # Claimed in the same transaction as the flow's own writes: a delivery that fails is
                # rolled back with its claim, so the platform's retry can still be answered.
                if message.event_id and not await repo.claim_event(
                    session=session, platform=message.conversation.platform, event_id=message.event_id
                ):
                    log.info("ignored a repeated %s delivery", message.conversation.platform)  # no ids: they lead back to a person
                    return []
                replies = [await self._click(session=session, message=message)]
            if self.wake_outbox is not None:
                self.wake_outbox()
            return replies
        except Exception:
            # No message text in the log: it may be a report or name a pupil.
            log.exception("could not handle a %s message", message.conversation.platform)
            return [Reply(text=texts.SOMETHING_WENT_WRONG.format(headteacher=self.headteacher), private=True)]

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
        outbox keeps it pending. A recipient who got it before a later one failed may get it twice."""
        reply, asker = self._notification_message(notification)
        if notification.recipient_role is not None:
            async with self.database.transaction() as session:
                holders = await repo.list_role_holders(session=session, role=notification.recipient_role)
            recipients = [(holder.platform, holder.user_id) for holder in holders]
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
                await senders[platform](user_id=user_id, reply=reply, asker=asker)
            except Exception as error:  # one holder's platform failing must not stop the others
                failures.append(f"{platform}: {type(error).__name__}: {error}")
        if failures:
            raise DeliveryFailed("; ".join(failures))

    def _notification_message(self, notification) -> tuple[Reply, ConversationRef | None]:
        payload = notification.payload
        if notification.kind == ask.ESCALATION_OPENED:
            asker = ConversationRef(
                platform=payload.get("requester_platform") or "",
                conversation_id="",
                user_id=payload.get("requester_user_id") or "",
            )
            return ask.escalation_message(payload, headteacher=self.headteacher), asker
        raise UnknownNotificationKind(f"no message for {notification.kind!r} notifications in this version")

    async def close(self) -> None:
        await self._claims.close()
        await self.database.close()

    def _answer_without_storage(self, chosen: Route, message: IncomingMessage) -> list[Reply]:
        headteacher = self.headteacher
        match chosen:
            case Route.EMPTY:
                return [Reply(text=texts.EMPTY_QUESTION, private=message.private)]
            case Route.HELP:
                return [
                    Reply(
                        text=texts.HELP_TEXT.format(headteacher=headteacher),
                        title=texts.HELP_TITLE,
                        icon="👋",
                        private=message.private,
                    )
                ]
            case Route.ASK | Route.REPORT_OFFER:
                answer = self._answer(message)
                if chosen is Route.REPORT_OFFER or answer.verdict == Verdict.REPORT.value:
                    return [report.offer(message=message), answer]
                return [answer]
            case Route.UNKNOWN_CLICK:
                return [Reply(text=texts.BUTTON_EXPIRED, private=True)]
            case Route.FORM:
                return [Reply(text=texts.FORM_NOT_EXPECTED, private=True)]
        raise AssertionError(f"route {chosen} needs storage")

    def _answer(self, message: IncomingMessage) -> Reply:
        return ask.ask(
            advisor=self.advisor, message=message, question=message.text.strip(), headteacher=self.headteacher
        )

    async def _click(self, *, session, message: IncomingMessage) -> Reply:
        action_id = message.click.action_id
        headteacher = self.headteacher
        if action_id == actions.ASK_HEADTEACHER:
            return await ask.ask_headteacher(session=session, repo=repo, message=message, headteacher=headteacher)
        if action_id in (actions.FEEDBACK_HELPFUL, actions.FEEDBACK_NOT_HELPFUL):
            return await ask.record_feedback(
                session=session,
                repo=repo,
                message=message,
                helpful=action_id == actions.FEEDBACK_HELPFUL,
                headteacher=headteacher,
            )
        return report.start(message=message, headteacher=headteacher)
