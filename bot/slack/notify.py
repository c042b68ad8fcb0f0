"""Messages to a Slack user who did not write first (the headteacher, a role holder): open a DM with
them (`conversations.open`, scope im:write) and post the neutral reply there as Block Kit. Used by the
outbox worker in `policybot serve`, never inside a request: Slack's 3-second limit does not apply here.

A notification is posted once even when a worker died after Slack took it but before the outbox
confirmed it: each message carries the reply's `delivery_key` as message metadata, and before posting,
the DM's recent messages (`conversations.history`, scope im:history) are searched for that key.

    notifier = SlackNotifier(settings=settings)
    await notifier(user_id="U0HEAD", reply=reply)   # raises SlackDeliveryError
    await notifier.close()
"""

from __future__ import annotations

import logging

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import render
from bot.slack.app import WEB_API_TIMEOUT_S, build_web_client, error_code
from handlers.messages import Reply

log = logging.getLogger(__name__)

# Pinned: messages already in people's DMs carry it; renamed, their notifications would look unsent.
NOTIFICATION_EVENT_TYPE = "policybot_notification"
# How many of the DM's latest messages are searched for an earlier post (one page). A repeat follows the
# post it repeats by a lease (seconds) or a retry delay (up to an hour): far fewer messages come between.
RECENT_MESSAGES = 200
# Answers that say nothing about the DM, and after which a post would most likely fail too: try later.
# Besides these codes (Slack's common errors), any 5xx or 429 from Slack's edge.
RETRY_LATER_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error", "request_timeout", "service_unavailable"})
RETRY_LATER_STATUS = 429


class SlackDeliveryError(Exception):
    """Slack did not take the message. The text is Slack's error code only, never the message."""


class SlackNotifier:
    def __init__(self, *, settings) -> None:
        # Built in the running loop (the server's), so one connection pool serves every delivery.
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WEB_API_TIMEOUT_S))
        self.client = build_web_client(settings=settings, session=self._session)

    async def __call__(self, *, user_id: str, reply: Reply) -> None:
        try:
            opened = await self.client.conversations_open(users=user_id)
            channel = opened["channel"]["id"]
            if reply.delivery_key and await _already_posted(self.client, channel=channel, delivery_key=reply.delivery_key):
                return
            await self.client.chat_postMessage(channel=channel, **render.message(reply), **_metadata(reply))
        except SlackApiError as error:
            raise SlackDeliveryError(f"Slack answered {error_code(error)}") from None
        except SlackRequestError as error:
            raise SlackDeliveryError(f"Slack could not be reached ({type(error).__name__})") from None
        except (KeyError, TypeError):
            raise SlackDeliveryError("Slack's conversations.open answer had no channel") from None

    async def close(self) -> None:
        await self._session.close()


def _metadata(reply: Reply) -> dict:
    """chat.postMessage's `metadata` argument: the key the next attempt looks for. Only the key: other
    apps in the workspace can read metadata, and a notification's id says nothing about anyone."""
    if not reply.delivery_key:
        return {}
    return {"metadata": {"event_type": NOTIFICATION_EVENT_TYPE, "event_payload": {"delivery_key": reply.delivery_key}}}


async def _already_posted(client: AsyncWebClient, *, channel: str, delivery_key: str) -> bool:
    """Whether one of the DM's recent messages carries `delivery_key`.

    When Slack refuses to show the history (a workspace that installed the app before it asked for
    im:history answers missing_scope), the message is posted: a possible repeat is better than a
    notification never sent. An outage or a rate limit says nothing either way and is raised, to try
    again later."""
    try:
        history = await client.conversations_history(channel=channel, limit=RECENT_MESSAGES, include_all_metadata=True)
    except SlackApiError as error:
        status = getattr(error.response, "status_code", 200)
        if status >= 500 or status == RETRY_LATER_STATUS or error_code(error) in RETRY_LATER_ERRORS:
            raise
        log.warning("could not look for an earlier post of a notification (Slack answered %s); posting it", error_code(error))
        return False
    return any(_key_of(message) == delivery_key for message in history.get("messages") or [])


def _key_of(message: dict) -> str | None:
    metadata = message.get("metadata") if isinstance(message, dict) else None
    if not isinstance(metadata, dict) or metadata.get("event_type") != NOTIFICATION_EVENT_TYPE:
        return None
    payload = metadata.get("event_payload")
    return payload.get("delivery_key") if isinstance(payload, dict) else None
