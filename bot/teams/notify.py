"""Proactive messages to a Teams user who did not write first (the headteacher, a role holder), as an
Adaptive Card in their one-to-one chat with the bot. Teams lets a bot start nothing: the person must have
opened a chat with it (or installed it) once, which stores their conversation reference. A holder with no
stored reference is a failed delivery that the outbox tries again later.

A notification can reach a Teams recipient twice. The Bot Framework gives a bot no way to look up what it
already sent in a chat (Slack's senders check their message metadata instead), so when Teams took the
card but the outbox never heard, the card is sent again: about 15 seconds later when the process was
killed in between (the dead worker's lease runs out), at the next retry when Teams' answer was lost.

    notifier = TeamsNotifier(settings=settings, references=core.conversation_reference)
    await notifier(user_id="29:…", reply=reply)   # raises TeamsDeliveryError
    await notifier.close()
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from microsoft_agents.activity import Activity, ActivityTypes, Attachment, ConversationReference
from microsoft_agents.hosting.core import TurnContext
from microsoft_agents.hosting.core.authorization import ClaimsIdentity

from bot.config import Settings
from bot.teams import cards
from bot.teams.connection import build_connection
from handlers.messages import Reply

log = logging.getLogger(__name__)

PLATFORM = "teams"

References = Callable[..., Awaitable[dict | None]]


class TeamsDeliveryError(Exception):
    """Teams did not take the message. The text never holds the message itself."""


def card_activity(reply: Reply, *, kind: cards.ActionKind = "submit") -> Activity:
    """The message for the recipient: the reply as a card."""
    return Activity(
        type=ActivityTypes.message,
        summary=cards.notification_text(reply) or None,
        attachments=[Attachment(content_type=cards.CARD_CONTENT_TYPE, content=cards.render_card(reply, kind=kind))],
    )


async def _raise(_context: TurnContext, error: Exception) -> None:
    # The adapter's usual turn-error handler tells the user "something went wrong"; here the user is the
    # recipient of a message that failed, so the error goes back to the outbox instead.
    raise error


class TeamsNotifier:
    def __init__(self, *, settings: Settings, references: References) -> None:
        # A connection of its own: the same credentials as /api/messages, but turn errors are raised.
        self._connection = build_connection(settings)
        self._connection.adapter.on_turn_error = _raise
        self._app_id = settings.microsoft_app_id or ""
        self._card_actions = settings.teams_card_actions
        self._references = references

    async def __call__(self, *, user_id: str, reply: Reply) -> None:
        stored = await self._references(platform=PLATFORM, user_id=user_id)
        if stored is None:
            raise TeamsDeliveryError(
                "no Teams conversation with this person yet: they need to open a chat with policybot once"
            )
        try:
            continuation = ConversationReference.model_validate(stored).get_continuation_activity()
        except ValueError:
            raise TeamsDeliveryError("the stored Teams conversation reference is not readable") from None
        activity = card_activity(reply, kind=self._card_actions)

        async def send(turn_context: TurnContext) -> None:
            await turn_context.send_activity(activity)

        adapter = self._connection.adapter
        try:
            if self._connection.authenticated:
                await adapter.continue_conversation(self._app_id, continuation, send)
            else:
                # Local mode (the emulator): no app id, so no token to fetch; anonymous like the turns are.
                await adapter.continue_conversation_with_claims(ClaimsIdentity({}, authentication_type="Anonymous"), continuation, send)
        except Exception as error:
            # The type and status only: an HTTP error's text can echo the request, which holds the message.
            status = getattr(error, "status", None)
            raise TeamsDeliveryError(f"Teams did not take the message ({type(error).__name__}{f' {status}' if status else ''})") from None

    async def close(self) -> None:
        await self._connection.clients.close()
