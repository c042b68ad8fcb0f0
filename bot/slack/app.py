"""The Slack adapter: a bolt `AsyncApp` whose listeners translate payloads into neutral messages, hand
them to the conversation core and post the rendered replies back through the Web API."""

from __future__ import annotations

import asyncio
import logging
import re

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler, async_default_handlers
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import render, translate
from handlers import actions
from handlers.messages import IncomingMessage, Reply

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
COMMAND = "/policy"
SHORTCUT_CALLBACK_ID = "can_i_post_this"
RATE_LIMIT_RETRIES = 2
WEB_API_TIMEOUT_S = 30
_OUR_ACTIONS = re.compile("^(?:" + "|".join(re.escape(action_id) for action_id in actions.ALL) + ")$")


class _NoRequestBodies(logging.Filter):
    """Bolt logs the whole body of a request whose signature fails: it can hold a report's text and
    the reporter's user id. Drop those records whatever level someone sets."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Invalid request signature")


def _quiet_bolt_logger() -> logging.Logger:
    bolt_logger = logging.getLogger("slack_bolt")
    bolt_logger.setLevel(logging.WARNING)
    if not any(isinstance(f, _NoRequestBodies) for f in bolt_logger.filters):
        bolt_logger.addFilter(_NoRequestBodies())
    # slack_sdk logs request and response bodies (message texts) at DEBUG.
    logging.getLogger("slack_sdk").setLevel(max(logging.getLogger("slack_sdk").level, logging.INFO))
    return bolt_logger


APP_TOKEN_CHECK_TIMEOUT_S = 15


class SlackSettingsError(ValueError):
    """Slack settings that cannot work; the message is one line for the person running the bot."""


def _shared_http_session() -> aiohttp.ClientSession | None:
    """One connection pool for every Web API call: without it slack_sdk opens a new session (and TCP
    and TLS connection) per call. Only possible when built inside the running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return None
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WEB_API_TIMEOUT_S))


def build_web_client(*, settings, session: aiohttp.ClientSession | None = None) -> AsyncWebClient:
    retry_handlers: list[AsyncRetryHandler] = [
        *async_default_handlers(),
        AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
    ]
    return AsyncWebClient(
        token=settings.slack_bot_token or None,
        base_url=settings.slack_api_url,
        retry_handlers=retry_handlers,
        session=session,
        timeout=WEB_API_TIMEOUT_S,
    )


class SlackAdapter:
    """One Slack app: HTTP routes for the aiohttp server, and Socket Mode when an app token is set."""

    def __init__(self, *, settings, core) -> None:
        if not settings.slack_bot_token:
            raise ValueError("SLACK_BOT_TOKEN is not set; Slack cannot be started without it")
        self.settings = settings
        self.core = core
        self._http_session = _shared_http_session()
        self.client = build_web_client(settings=settings, session=self._http_session)
        self._socket_mode_handler = None
        self.bolt_app = AsyncApp(
            client=self.client,
            # An empty secret would make HMAC checks pass for anyone who signs with "": pass None and
            # refuse to mount the HTTP route instead (see routes()).
            signing_secret=settings.slack_signing_secret or None,
            logger=_quiet_bolt_logger(),
        )
        self.bolt_app.event("message")(self._on_direct_message)
        self.bolt_app.event("app_mention")(self._on_mention)
        self.bolt_app.command(COMMAND)(self._on_command)
        self.bolt_app.shortcut(SHORTCUT_CALLBACK_ID)(self._on_shortcut)
        self.bolt_app.action(_OUR_ACTIONS)(self._on_button)
        self.bolt_app.view(re.compile(".+"))(self._on_form)

    # --- HTTP and Socket Mode -------------------------------------------------------------------------

    @property
    def http_enabled(self) -> bool:
        return bool(self.settings.slack_signing_secret)

    @property
    def socket_mode_enabled(self) -> bool:
        return bool(self.settings.slack_app_token)

    def routes(self) -> list[web.RouteDef]:
        if not self.http_enabled:
            raise ValueError("SLACK_SIGNING_SECRET is not set; the Slack HTTP endpoint cannot verify requests")
        return [web.post(EVENTS_PATH, self.handle_http)]

    def add_routes(self, app: web.Application) -> None:
        app.add_routes(self.routes())

    async def handle_http(self, request: web.Request) -> web.Response:
        # Bolt checks the signature and timestamp before any listener runs, answering 401 otherwise.
        response = await self.bolt_app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    async def start_socket_mode(self) -> None:
        """Connect to Slack over a WebSocket (no public URL needed) and return; messages are handled in
        the background until close()."""
        if not self.socket_mode_enabled:
            raise ValueError("SLACK_APP_TOKEN is not set; Socket Mode needs an app-level token (xapp-…)")
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        await self._check_app_token()
        self._socket_mode_handler = AsyncSocketModeHandler(self.bolt_app, self.settings.slack_app_token)
        await self._socket_mode_handler.connect_async()

    async def _check_app_token(self) -> None:
        """One try before connecting: bolt would otherwise retry a wrong token every 10 s for ever,
        and the bot would never say what is wrong."""

        try:
            await asyncio.wait_for(
                self.client.apps_connections_open(app_token=self.settings.slack_app_token), APP_TOKEN_CHECK_TIMEOUT_S
            )
        except SlackApiError as error:
            reason = error.response.get("error", "refused") if error.response is not None else "refused"
            raise SlackSettingsError(f"Slack refused SLACK_APP_TOKEN ({reason}); use an app-level token (xapp-…) with connections:write") from None
        except (asyncio.TimeoutError, aiohttp.ClientError) as error:
            raise SlackSettingsError(f"could not reach Slack to open Socket Mode ({error.__class__.__name__}); check the network and SLACK_API_URL") from None

    async def close(self) -> None:
        if self._socket_mode_handler is not None:
            await self._socket_mode_handler.close_async()
            self._socket_mode_handler = None
        if self._http_session is not None:
            await self._http_session.close()
            self._http_session = None

    # --- Listeners ------------------------------------------------------------------------------------
    # Events are acknowledged by bolt before these run. Commands, shortcuts, buttons and forms call
    # ack() first: Slack waits at most 3 s for it, and the answer (database, Web API) can take longer.

    async def _on_direct_message(self, body: dict, context) -> None:
        message = translate.direct_message(body, bot_user_id=context.bot_user_id)
        if message is not None:
            await self._answer(message)

    async def _on_mention(self, body: dict, context) -> None:
        message = translate.mention(body, bot_user_id=context.bot_user_id)
        if message is not None:
            await self._answer(message)

    async def _on_command(self, ack, body: dict, respond: AsyncRespond) -> None:
        await ack()
        await self._answer(translate.slash_command(body), respond=respond)

    async def _on_shortcut(self, ack, body: dict, respond: AsyncRespond) -> None:
        await ack()
        await self._answer(translate.message_shortcut(body), respond=respond)

    async def _on_button(self, ack, body: dict, respond: AsyncRespond) -> None:
        await ack()
        message = translate.button_click(body)
        if message is not None:
            await self._answer(message, respond=respond)

    async def _on_form(self, ack, body: dict) -> None:
        # Closing the modal is the acknowledgement; the answer arrives as a message afterwards.
        await ack()
        await self._answer(translate.form_submission(body))

    # --- Answering ------------------------------------------------------------------------------------

    async def _answer(self, message: IncomingMessage, *, respond: AsyncRespond | None = None) -> None:
        for reply in await self.core.handle(message):
            try:
                await self._send(message=message, reply=reply, respond=respond)
            except (SlackApiError, SlackRequestError) as error:
                # Only Slack's error code: the payload holds the person's text.
                code = error.response.get("error") if isinstance(error, SlackApiError) else type(error).__name__
                log.warning("Slack refused a reply: %s", code)

    async def _send(self, *, message: IncomingMessage, reply: Reply, respond: AsyncRespond | None) -> None:
        conversation = message.conversation
        if reply.form is not None and message.trigger_id:
            await self.client.views_open(trigger_id=message.trigger_id, view=render.modal(reply.form))
            if not reply.text:
                return
        payload = render.message(reply)
        can_respond = respond is not None and respond.response_url is not None
        if reply.replaces_message_id:
            if can_respond:
                await self._respond(respond, **payload, replace_original=True)
            else:
                await self.client.chat_update(channel=conversation.conversation_id, ts=reply.replaces_message_id, **payload)
        elif reply.private or message.private:
            if can_respond:
                await self._respond(respond, **payload, response_type="ephemeral", replace_original=False)
            else:
                await self.client.chat_postEphemeral(
                    channel=conversation.conversation_id,
                    user=conversation.user_id,
                    thread_ts=conversation.thread_id,
                    **payload,
                )
        else:
            await self.client.chat_postMessage(
                channel=conversation.conversation_id, thread_ts=conversation.thread_id, **payload
            )

    @staticmethod
    async def _respond(respond: AsyncRespond, **message) -> None:
        response = await respond(**message)
        if response.status_code != 200:
            log.warning("Slack refused a reply to a response_url: HTTP %s", response.status_code)
