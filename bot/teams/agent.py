"""The Teams side of a conversation: an `ActivityHandler` that hands neutral messages to the conversation
core and sends back what it answers, as Adaptive Cards.

Acknowledging in time: Teams re-sends an activity it has not seen answered within 15 s. A turn here runs
inline, before the HTTP answer, because everything in it is quick: the advisor answers in about a
millisecond and the core's database writes are single small transactions. Work that can be slow or can
fail (telling the headteacher, the chair of governors, a requester) never runs in the turn: the flows put it
in the outbox in the same transaction, and a delivery worker sends it later. The same activity id arriving
twice is answered once: the core claims each delivery before any side effect.

Privacy: the report flow's messages (the words that start it, its form, `status`, follow-ups) never store
or refresh a conversation reference, so no row about the person moves when they report; and nothing here
logs an id of a person or conversation, or what anyone wrote.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from datetime import date

from microsoft_agents.activity import (
    Activity,
    ActivityTypes,
    AdaptiveCardInvokeResponse,
    AdaptiveCardInvokeValue,
    Attachment,
)
from microsoft_agents.hosting.core import ActivityHandler, TurnContext

from bot.teams import cards
from bot.teams.files import FileDownloader
from bot.teams.translate import conversation_ref, incoming_message, is_direct
from handlers.messages import ConversationRef, IncomingMessage, Reply

log = logging.getLogger(__name__)

INVOKE_MESSAGE = "application/vnd.microsoft.activity.message"
INVOKE_CARD = "application/vnd.microsoft.card.adaptive"


class _RecentReferences:
    """The conversation references stored lately, so that a busy chat does not rewrite the same row on
    every message. Bounded; each reference is stored again on its first message of a day (and after a
    restart), so its stored time says the person still writes: references silent for a year are purged."""

    def __init__(self, *, max_entries: int = 10_000, today=date.today) -> None:
        self._seen: OrderedDict[tuple[str, str], tuple[str, date]] = OrderedDict()
        self._max_entries = max_entries
        self._today = today

    def _entry(self, ref: ConversationRef) -> tuple[str, date]:
        return repr(sorted(ref.raw.items())), self._today()

    def is_new(self, ref: ConversationRef) -> bool:
        key = (ref.user_id, ref.conversation_id)
        if self._seen.get(key) == self._entry(ref):
            self._seen.move_to_end(key)
            return False
        return True

    def add(self, ref: ConversationRef) -> None:
        key = (ref.user_id, ref.conversation_id)
        self._seen[key] = self._entry(ref)
        self._seen.move_to_end(key)
        while len(self._seen) > self._max_entries:
            self._seen.popitem(last=False)


class PolicyBotAgent(ActivityHandler):
    def __init__(self, *, core, card_actions: cards.ActionKind = "submit", files: FileDownloader | None = None) -> None:
        self._core = core
        self._card_actions = card_actions
        self._recent = _RecentReferences()
        self._files = files

    # --- What arrives --------------------------------------------------------------------------------

    def _incoming(self, turn_context: TurnContext) -> IncomingMessage | None:
        activity = turn_context.activity
        if self._files is None:
            return incoming_message(activity)
        fetcher = self._files.fetcher(identity=turn_context.identity, service_url=activity.service_url or "")
        return incoming_message(activity, fetcher=fetcher)

    async def _remember_unless_private(self, activity: Activity, message: IncomingMessage | None) -> None:
        if message is None or not self._core.is_private_flow(message):
            await self._remember(activity)

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        message = self._incoming(turn_context)
        await self._remember_unless_private(activity, message)
        if message is None:
            log.info("ignored a Teams message carrying nothing policybot understands")
            return
        replies = await self._core.handle(message)
        await self._send(turn_context, message, replies)

    async def on_adaptive_card_invoke(
        self, turn_context: TurnContext, invoke_value: AdaptiveCardInvokeValue
    ) -> AdaptiveCardInvokeResponse:
        """An `Action.Execute` click. Teams waits for this answer: a reply that replaces the clicked card
        (or is shown in its form) comes back in it, and Teams swaps the card in place; any other reply is
        sent as a message."""
        activity = turn_context.activity
        message = self._incoming(turn_context)
        await self._remember_unless_private(activity, message)
        if message is None:
            return AdaptiveCardInvokeResponse(status_code=200, type=INVOKE_MESSAGE, value="")
        replies = await self._core.handle(message)
        card_id = activity.reply_to_id
        in_place = next(
            (reply for reply in replies if card_id and (_shown_in_form(reply) or reply.replaces_message_id == card_id)),
            None,
        )
        await self._send(turn_context, message, [reply for reply in replies if reply is not in_place])
        if in_place is not None:
            return AdaptiveCardInvokeResponse(
                status_code=200, type=INVOKE_CARD, value=cards.render_card(in_place, kind=self._card_actions)
            )
        summary = cards.notification_text(replies[0]) if replies else ""
        return AdaptiveCardInvokeResponse(status_code=200, type=INVOKE_MESSAGE, value=summary)

    async def on_conversation_update_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        bot_id = activity.recipient.id if activity.recipient else None
        if any(member.id == bot_id for member in activity.members_added or ()):
            await self._remember(activity)

    async def on_installation_update_add(self, turn_context: TurnContext) -> None:
        await self._remember(turn_context.activity)

    # --- What goes back ------------------------------------------------------------------------------

    async def _remember(self, activity: Activity) -> None:
        """Keep the person's one-to-one conversation reference: proactive messages (a DM to the
        headteacher) need it later, so it lives in the database. Only one-to-one chats are kept: the
        store holds one reference a person, and a channel's there would send their DMs to the channel."""
        if not is_direct(activity):
            return
        ref = conversation_ref(activity)
        if ref.user_id and self._recent.is_new(ref):
            await self._core.remember_conversation(ref=ref)
            self._recent.add(ref)

    def to_activity(self, reply: Reply) -> Activity:
        card_needed = (
            reply.title or reply.quotes or reply.facts or reply.buttons or reply.form or reply.form_errors
            # A plain message shows its text in notifications; a card shows its summary instead.
            or reply.notification_text or reply.in_form
            # Too long for one message: a card cuts it to fit and says so.
            or not cards.fits_as_plain_text(reply.text)
        )
        if not card_needed:
            return Activity(type=ActivityTypes.message, text=cards.plain_text(reply.text), text_format="plain")
        card = cards.render_card(reply, kind=self._card_actions)
        return Activity(
            type=ActivityTypes.message,
            summary=cards.notification_text(reply) or None,
            attachments=[Attachment(content_type=cards.CARD_CONTENT_TYPE, content=card)],
        )

    async def _send(self, turn_context: TurnContext, message: IncomingMessage, replies: list[Reply]) -> None:
        for reply in replies:
            activity = self.to_activity(reply)
            if reply.private and not message.is_direct:
                # Only the sender sees it (Teams' targeted messages); in a one-to-one chat it is private anyway.
                activity.make_targeted_activity(turn_context.activity.from_property)
            in_form = _shown_in_form(reply)
            target = reply.replaces_message_id or (_form_message_id(message) if in_form else None)
            if target:
                activity.id = target
                try:
                    await turn_context.update_activity(activity)
                    continue
                except Exception as error:  # an old or deleted card: say it as a new message instead
                    # The type and status only: the SDK's error names the conversation.
                    status = getattr(error, "status", None)
                    log.warning(
                        "could not update a Teams card (%s%s); sending the %s as a new message",
                        type(error).__name__,
                        f" {status}" if status else "",
                        "answer to a form" if in_form else "reply",
                    )
                    activity.id = None
            elif in_form:
                log.warning("an answer to a form had no card to replace; sending it as a new message")
            # For a form's answer (a case code and secret) a new message is the last resort: it stays in the
            # chat's history, but the person must get what it says.
            await turn_context.send_activity(activity)


def _shown_in_form(reply: Reply) -> bool:
    """Shown where the submitted form was, never as a message of its own when that can be helped."""
    return reply.in_form or bool(reply.form_errors)


def _form_message_id(message: IncomingMessage) -> str | None:
    """The card the answer replaces: the submitted form's, or the card whose button was pressed."""
    if message.form is not None and message.form.message_id:
        return message.form.message_id
    if message.click is not None and message.click.message_id:
        return message.click.message_id
    return None
