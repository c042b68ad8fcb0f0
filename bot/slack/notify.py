"""Messages to a Slack user who did not write first (the headteacher, a role holder): open a DM with
them (`conversations.open`, scope im:write) and post the neutral reply there as Block Kit. Used by the
outbox worker in `policybot serve`, never inside a request: Slack's 3-second limit does not apply here.

    notifier = SlackNotifier(settings=settings)
    await notifier(user_id="U0HEAD", reply=reply, asker=ref)   # raises SlackDeliveryError
    await notifier.close()
"""

from __future__ import annotations

import re

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError

from bot.slack import render
from bot.slack.app import WEB_API_TIMEOUT_S, build_web_client
from handlers import texts
from handlers.messages import ConversationRef, Reply

PLATFORM = "slack"
# A Slack user id, safe to put in a mention: nothing a person typed can match it and ping someone else.
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


class SlackDeliveryError(Exception):
    """Slack did not take the message. The text is Slack's error code only, never the message."""


def asked_by_block(asker: ConversationRef) -> dict:
    """Who asked, as a mention Slack shows as their name when they are in this workspace."""
    if asker.platform == PLATFORM and _USER_ID.match(asker.user_id):
        who = f"<@{asker.user_id}>"
    else:
        who = render.escape(texts.ASKED_BY_ELSEWHERE.format(user_id=asker.user_id, platform=asker.platform.title()))
    return {"type": "section", "text": {"type": "mrkdwn", "text": f"*{render.escape(texts.ASKED_BY)}*: {who}"}}


def direct_message(reply: Reply, *, asker: ConversationRef | None) -> dict:
    """The chat.postMessage arguments (without the channel) for the DM: the reply, and who asked."""
    payload = render.message(reply)
    if asker is not None and asker.user_id:
        blocks = payload["blocks"]
        # After the content, before any buttons.
        at = next((index for index, block in enumerate(blocks) if block["type"] == "actions"), len(blocks))
        payload["blocks"] = [*blocks[:at], asked_by_block(asker), *blocks[at:]]
    return payload


class SlackNotifier:
    def __init__(self, *, settings) -> None:
        # Built in the running loop (the server's), so one connection pool serves every delivery.
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WEB_API_TIMEOUT_S))
        self.client = build_web_client(settings=settings, session=self._session)

    async def __call__(self, *, user_id: str, reply: Reply, asker: ConversationRef | None) -> None:
        try:
            opened = await self.client.conversations_open(users=user_id)
            channel = opened["channel"]["id"]
            await self.client.chat_postMessage(channel=channel, **direct_message(reply, asker=asker))
        except SlackApiError as error:
            raise SlackDeliveryError(f"Slack answered {error.response.get('error')}") from None
        except SlackRequestError as error:
            raise SlackDeliveryError(f"Slack could not be reached ({type(error).__name__})") from None
        except (KeyError, TypeError):
            raise SlackDeliveryError("Slack's conversations.open answer had no channel") from None

    async def close(self) -> None:
        await self._session.close()
