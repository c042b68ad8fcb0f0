"""Messages to a Slack user who did not write first (the headteacher, a role holder): open a DM with
them (`conversations.open`, scope im:write) and post the neutral reply there as Block Kit. Used by the
outbox worker in `policybot serve`, never inside a request: Slack's 3-second limit does not apply here.

    notifier = SlackNotifier(settings=settings)
    await notifier(user_id="U0HEAD", reply=reply)   # raises SlackDeliveryError
    await notifier.close()
"""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError

from bot.slack import render
from bot.slack.app import WEB_API_TIMEOUT_S, build_web_client, error_code
from handlers.messages import Reply


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
            await self.client.chat_postMessage(channel=channel, **render.message(reply))
        except SlackApiError as error:
            raise SlackDeliveryError(f"Slack answered {error_code(error)}") from None
        except SlackRequestError as error:
            raise SlackDeliveryError(f"Slack could not be reached ({type(error).__name__})") from None
        except (KeyError, TypeError):
            raise SlackDeliveryError("Slack's conversations.open answer had no channel") from None

    async def close(self) -> None:
        await self._session.close()
