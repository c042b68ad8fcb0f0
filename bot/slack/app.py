"""The Slack adapter: a bolt `AsyncApp` whose listeners translate payloads into neutral messages, hand
them to the conversation core and post the rendered replies back through the Web API."""

from __future__ import annotations

import asyncio
import logging
import re
from urllib.parse import urlsplit

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
# "Ask for this to be removed" (slack/manifest.yml): its callback id is the action id the flow handles.
REMOVAL_CALLBACK_ID = actions.REMOVAL_START
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
# Screenshots attached to a form: Slack's own limit is far higher; a flow refuses what it cannot take.
FILE_DOWNLOAD_MAX_BYTES = 20 * 1024 * 1024
FILE_DOWNLOAD_TIMEOUT_S = 20
FILE_HOST_SUFFIX = ".slack.com"


class SlackFileError(Exception):
    """An attached file could not be downloaded. The text never holds the file's address or id."""


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
        # Only on a message (type message_action): the shortcut needs the message it was pressed on.
        self.bolt_app.message_shortcut(REMOVAL_CALLBACK_ID)(self._on_removal_shortcut)
        self.bolt_app.action(_OUR_ACTIONS)(self._on_button)
        self.bolt_app.view(re.compile(".+"))(self._on_form)
        self.bolt_app.event("app_home_opened")(self._on_home_opened)

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
            reason = error_code(error, default="refused")
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
        message = translate.direct_message(body, bot_user_id=context.bot_user_id, fetch_file=self.download_file)
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

    async def _on_removal_shortcut(self, ack, body: dict, respond: AsyncRespond) -> None:
        # Like a button that opens a form: ack first, then the flow's form goes up with views.open
        # while the trigger is fresh.
        await ack()
        await self._answer(translate.removal_request(body), respond=respond)

    async def _on_button(self, ack, body: dict, respond: AsyncRespond) -> None:
        await ack()
        message = translate.button_click(body)
        if message is None:
            return
        view = translate.clicked_view(body)
        # A button in a modal can show its answer in that modal (views.update), like a submitted form.
        modal = view if view is not None and view.get("type") == "modal" and view.get("id") else None
        await self._answer(message, respond=respond, modal=modal)

    async def _on_form(self, ack, body: dict) -> None:
        """A submitted modal, answered in the HTTP response: field errors keep it open, an answer meant
        for the form replaces it ("update"), anything else closes it. The core's work is one short
        transaction, well inside Slack's 3 s."""
        message = translate.form_submission(body, fetch_file=self.download_file)
        replies = await self.core.handle(message)
        shown = _reply_for_the_form(replies)
        try:
            if shown is None:
                await ack()
            elif shown.form_errors:
                await ack(response_action="errors", errors=_field_errors(shown, view=body.get("view") or {}))
            else:
                await ack(response_action="update", view=render.form_view(shown))
        except ValueError:
            # A view Slack would refuse (a form too big for a modal): close the modal, say so in the DM.
            log.warning("a form's answer did not fit in a Slack modal")
            await ack()
            shown = None
        await self._send_all(message, [reply for reply in replies if reply is not shown], respond=None, can_open_form=False)

    async def _on_home_opened(self, body: dict) -> None:
        conversation = translate.home_opened(body)
        if conversation is None:
            return
        try:
            replies = await self.core.home(conversation=conversation)
            await self.client.views_publish(user_id=conversation.user_id, view=render.home_view(replies))
        except (SlackApiError, SlackRequestError) as error:
            log.warning("Slack refused the App Home view: %s", error_code(error))

    # --- Files ----------------------------------------------------------------------------------------

    def _may_send_token_to(self, url: str) -> bool:
        """The bot token goes only to Slack: its file hosts, or the Web API's own host (tests)."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if host == (urlsplit(self.settings.slack_api_url).hostname or "").lower():
            return parts.scheme in ("https", "http")
        return parts.scheme == "https" and (host == FILE_HOST_SUFFIX[1:] or host.endswith(FILE_HOST_SUFFIX))

    async def download_file(self, url: str) -> bytes:
        """The bytes of a file a person uploaded to Slack (url_private_download), with the bot token
        (scope files:read). Raises SlackFileError; nothing about the file (address, id) is logged."""
        if not self._may_send_token_to(url):
            raise SlackFileError("the file is not on a Slack host")
        session = self._http_session
        own_session = session is None or session.closed
        if own_session:
            session = aiohttp.ClientSession()
        try:
            async with session.get(
                url,
                headers={"Authorization": f"Bearer {self.settings.slack_bot_token}"},
                # A redirect could carry the token elsewhere: Slack serves files directly.
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=FILE_DOWNLOAD_TIMEOUT_S),
            ) as response:
                if response.status != 200:
                    raise SlackFileError(f"Slack answered HTTP {response.status} for the file")
                if response.content_type == "text/html":
                    # What Slack sends instead of the file when the token may not read it.
                    raise SlackFileError("Slack did not give the file (does the app have the files:read scope?)")
                if (response.content_length or 0) > FILE_DOWNLOAD_MAX_BYTES:
                    raise SlackFileError("the file is larger than the bot takes")
                data = bytearray()
                async for chunk in response.content.iter_chunked(64 * 1024):
                    data.extend(chunk)
                    if len(data) > FILE_DOWNLOAD_MAX_BYTES:
                        raise SlackFileError("the file is larger than the bot takes")
                return bytes(data)
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            # aiohttp's messages name the address: only the kind of failure.
            raise SlackFileError(f"the file could not be downloaded ({type(error).__name__})") from None
        finally:
            if own_session:
                await session.close()

    # --- Answering ------------------------------------------------------------------------------------

    async def _answer(self, message: IncomingMessage, *, respond: AsyncRespond | None = None, modal: dict | None = None) -> None:
        await self._send_all(message, await self.core.handle(message), respond=respond, modal=modal)

    async def _send_all(self, message: IncomingMessage, replies: list[Reply], *, respond: AsyncRespond | None,
                        modal: dict | None = None, can_open_form: bool = True) -> None:
        for reply in replies:
            try:
                if _shown_in_a_form(reply):
                    await self._show_in_modal(reply, modal=modal)
                elif reply.form is not None and modal is not None and message.trigger_id:
                    # A form asked for from inside a modal is stacked on it (views.open would be refused).
                    await self.client.views_push(trigger_id=message.trigger_id, view=render.modal(reply.form))
                    if reply.text:
                        await self._send(message=message, reply=reply, respond=respond, can_open_form=False)
                else:
                    await self._send(message=message, reply=reply, respond=respond, can_open_form=can_open_form)
            except (SlackApiError, SlackRequestError) as error:
                # Only Slack's error code: the payload holds the person's text.
                log.warning("Slack refused a reply: %s", error_code(error))

    async def _show_in_modal(self, reply: Reply, *, modal: dict | None) -> None:
        # What a form's answer holds (a case code, a secret) never goes into the chat history.
        if modal is None:
            log.warning("a reply meant for a form had no form to show in; it was not sent")
            return
        await self.client.views_update(view_id=modal["id"], hash=modal.get("hash"), view=render.form_view(reply))
        modal.pop("hash", None)  # the view changed: a second update in this answer must not be refused as stale

    async def _send(self, *, message: IncomingMessage, reply: Reply, respond: AsyncRespond | None, can_open_form: bool = True) -> None:
        conversation = message.conversation
        if reply.form is not None and message.trigger_id and can_open_form:
            await self.client.views_open(trigger_id=message.trigger_id, view=render.modal(reply.form))
            if not reply.text:
                return
        payload = render.message(reply)
        can_respond = respond is not None and respond.response_url is not None
        if reply.replaces_message_id:
            if can_respond:
                await self._respond(respond, **payload, replace_original=True)
            else:
                channel, ts = translate.split_message_id(reply.replaces_message_id, default_channel=conversation.conversation_id)
                await self.client.chat_update(channel=channel, ts=ts, **payload)
        elif (reply.private or message.private) and (can_respond or conversation.conversation_id != conversation.user_id):
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
            # Includes the person's DM with the bot addressed by their user id: only they see it anyway.
            await self.client.chat_postMessage(
                channel=conversation.conversation_id, thread_ts=conversation.thread_id, **payload
            )

    @staticmethod
    async def _respond(respond: AsyncRespond, **message) -> None:
        response = await respond(**message)
        if response.status_code != 200:
            log.warning("Slack refused a reply to a response_url: HTTP %s", response.status_code)


def error_code(error: Exception, *, default: str = "") -> str:
    """What Slack said, fit for a log: its error code ("ratelimited"), else the HTTP status of an answer
    that was not the Web API's JSON (an error page from Slack's edge), else the kind of failure. Never
    raises: it is called while handling the error."""
    response = getattr(error, "response", None) if isinstance(error, SlackApiError) else None
    if response is None:
        return default or type(error).__name__
    data = getattr(response, "data", None)
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    return default or f"HTTP {getattr(response, 'status_code', '?')}"


def _field_errors(reply: Reply, *, view: dict) -> dict[str, str]:
    """{block_id: error} for the submitted view. Slack refuses the whole answer when an error names a
    block the view does not have: such an error goes on the first input instead."""
    inputs = [block.get("block_id") for block in view.get("blocks") or [] if block.get("type") == "input"]
    errors: dict[str, str] = {}
    for field_id, error in reply.form_errors:
        target = field_id if field_id in inputs or not inputs else inputs[0]
        errors[target] = f"{errors[target]} {error}" if target in errors else error
    return errors


def _shown_in_a_form(reply: Reply) -> bool:
    return reply.in_form or bool(reply.form_errors)


def _reply_for_the_form(replies: list[Reply]) -> Reply | None:
    """The reply a submitted form shows in place: its errors, else an answer meant for the form, else a
    follow-up form (a submission has no trigger to open another modal with)."""
    for wanted in (lambda r: r.form_errors, lambda r: r.in_form, lambda r: r.form is not None):
        found = next((reply for reply in replies if wanted(reply)), None)
        if found is not None:
            return found
    return None
