"""The Slack adapter: a bolt `AsyncApp` whose listeners translate payloads into neutral messages, hand
them to the conversation core and post the rendered replies back through the Web API."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import time
import traceback
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler, async_default_handlers
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import render, translate
from handlers import actions, texts
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
# Slack waits 3 s for the acknowledgement of a click, command or shortcut; the rest is the way there.
ACK_DEADLINE_S = 2.5
# Slack's own limit on a request's age (X-Slack-Request-Timestamp).
SIGNATURE_MAX_AGE_S = 300
REFUSED_SIGNATURE = '{"error": "invalid request"}'
NOT_A_SLACK_PAYLOAD = "not a Slack payload"
# Where an event's message and the core's handling of it wait in bolt's context for the listener.
_EVENT_ANSWER = "policybot_event_answer"


def _quiet_bolt_logger() -> logging.Logger:
    bolt_logger = logging.getLogger("slack_bolt")
    bolt_logger.setLevel(logging.WARNING)
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


class _WebClient(AsyncWebClient):
    """slack_sdk's client, but an answer that is not a JSON object (a proxy's plain-text page, even with
    HTTP 200) is refused as a SlackApiError like any other: slack_sdk would raise AttributeError on it,
    which no caller expects, and a reply's later messages would be lost with it."""

    async def _request(self, *, http_verb, api_url, req_args):
        response = await super()._request(http_verb=http_verb, api_url=api_url, req_args=req_args)
        if not isinstance(response["data"], (dict, bytes)):
            response = {**response, "data": {}}
        return response


def build_web_client(*, settings, session: aiohttp.ClientSession | None = None) -> AsyncWebClient:
    retry_handlers: list[AsyncRetryHandler] = [
        *async_default_handlers(),
        AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
    ]
    return _WebClient(
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
            # handle_http checks every signature before the body is read (bolt parses it first, answers
            # 500 to a timestamp that is not a number, and logs the body of a request it refuses);
            # Socket Mode needs none. "" keeps bolt from reading SLACK_SIGNING_SECRET itself.
            signing_secret="",
            request_verification_enabled=False,
            logger=_quiet_bolt_logger(),
        )
        # Bolt acknowledges an event as its listener starts: the core stores it in a listener middleware,
        # which runs before that, and the listener sends the replies.
        self.bolt_app.event("message", middleware=[self._stored_first(self._direct_message)])(self._on_event)
        self.bolt_app.event("app_mention", middleware=[self._stored_first(self._mention)])(self._on_event)
        self.bolt_app.command(COMMAND)(self._on_command)
        self.bolt_app.shortcut(SHORTCUT_CALLBACK_ID)(self._on_shortcut)
        # Only on a message (type message_action): the shortcut needs the message it was pressed on.
        self.bolt_app.message_shortcut(REMOVAL_CALLBACK_ID)(self._on_removal_shortcut)
        self.bolt_app.action(_OUR_ACTIONS)(self._on_button)
        self.bolt_app.view(re.compile(".+"))(self._on_form)
        self.bolt_app.event("app_home_opened")(self._on_home_opened)
        self.bolt_app.error(_on_unhandled_error)

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
        body = await request.read()
        if not self._signed_by_slack(body, timestamp=request.headers.get("X-Slack-Request-Timestamp", ""),
                                     signature=request.headers.get("X-Slack-Signature", "")):
            return web.Response(status=401, text=REFUSED_SIGNATURE, content_type="application/json")
        bolt_request = _bolt_request(body, request=request)
        if bolt_request is None:
            # Signed, so from Slack or someone holding the secret; never the body in the log.
            log.warning("a signed Slack request was not a Slack payload; answered 400")
            return web.Response(status=400, text=NOT_A_SLACK_PAYLOAD)
        try:
            response = await self.bolt_app.async_dispatch(bolt_request)
        except _UNREADABLE:
            # Bolt itself could not read a field (`"view": {"state": "x"}`): also not a Slack payload.
            log.warning("a signed Slack request had fields bolt could not read; answered 400")
            return web.Response(status=400, text=NOT_A_SLACK_PAYLOAD)
        return await to_aiohttp_response(response)

    def _signed_by_slack(self, body: bytes, *, timestamp: str, signature: str) -> bool:
        """Slack's v0 signature: HMAC-SHA256 of `v0:{timestamp}:{body}` with the signing secret, on a
        request at most 5 minutes old. Anything malformed is simply not signed."""
        if not (timestamp.isascii() and timestamp.isdigit() and signature.isascii()):
            return False
        if abs(time.time() - int(timestamp)) > SIGNATURE_MAX_AGE_S:
            return False
        signed = b"v0:" + timestamp.encode() + b":" + body
        expected = "v0=" + hmac.new(self.settings.slack_signing_secret.encode(), signed, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature)

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
    # Messages, mentions, commands, shortcuts, buttons and forms are acknowledged once the core has
    # stored what they did (Slack never sends an acknowledged one again), and the replies go out after
    # the acknowledgement: Slack waits at most 3 s for it.

    def _direct_message(self, body: dict, context: AsyncBoltContext) -> IncomingMessage | None:
        return _read(translate.direct_message, body, bot_user_id=context.bot_user_id, fetch_file=self.download_file)

    def _mention(self, body: dict, context: AsyncBoltContext) -> IncomingMessage | None:
        return _read(translate.mention, body, bot_user_id=context.bot_user_id)

    def _stored_first(self, translation: Callable[[dict, AsyncBoltContext], IncomingMessage | None]):
        """A listener middleware that hands the event to the core before bolt acknowledges it, leaving
        the message and its replies in the context for `_on_event`."""

        async def store_first(body: dict, context: AsyncBoltContext, next) -> None:
            message = translation(body, context)
            if message is not None:
                started = time.monotonic()
                handling = await self._handled_within_deadline(message)
                # A question's answer exists only in the reply: sent before the acknowledgement too, in the
                # time left, so that a kill just after it does not lose an answer Slack will not ask again.
                sending = asyncio.ensure_future(self._send_all(message, await handling, respond=None)) if handling.done() else None
                if sending is not None:
                    await asyncio.wait({sending}, timeout=max(0.0, ACK_DEADLINE_S - (time.monotonic() - started)))
                context[_EVENT_ANSWER] = (message, handling, sending)
            await next()

        return store_first

    async def _on_event(self, context: AsyncBoltContext) -> None:
        answer = context.get(_EVENT_ANSWER)
        if answer is not None:
            message, handling, sending = answer
            if sending is None:
                await self._send_all(message, await handling, respond=None)
            else:
                await sending

    async def _on_command(self, ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        await self._on_interaction(_read(translate.slash_command, body), ack=ack, respond=respond)

    async def _on_shortcut(self, ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        await self._on_interaction(_read(translate.message_shortcut, body), ack=ack, respond=respond)

    async def _on_removal_shortcut(self, ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        # Like a button that opens a form: the flow's form goes up with views.open after the
        # acknowledgement, while the trigger (valid 3 s from the click) is fresh.
        await self._on_interaction(_read(translate.removal_request, body), ack=ack, respond=respond)

    async def _on_button(self, ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        message = _read(translate.button_click, body)
        # A button in a modal can show its answer in that modal (views.update), like a submitted form.
        modal = _read(_clicked_modal, body) if message is not None else None
        await self._on_interaction(message, ack=ack, respond=respond, modal=modal)

    async def _on_interaction(self, message: IncomingMessage | None, *, ack: AsyncAck, respond: AsyncRespond,
                              modal: dict | None = None) -> None:
        if message is None:
            await ack()
            return
        await self._send_all(message, await self._stored_then_acknowledged(message, ack=ack), respond=respond, modal=modal)

    async def _stored_then_acknowledged(self, message: IncomingMessage, *, ack: AsyncAck) -> list[Reply]:
        handling = await self._handled_within_deadline(message)
        await ack()
        return await handling

    async def _handled_within_deadline(self, message: IncomingMessage) -> asyncio.Future[list[Reply]]:
        """The core's handling of `message`, once it has committed the message's effects and the
        notifications they owe (one transaction), so that a kill after the acknowledgement loses nothing;
        or, past ACK_DEADLINE_S, still under way: the acknowledgement goes anyway and the work finishes
        afterwards. Without one in 3 s Slack tells the person a click or command failed, though it will
        still be stored, and invites a second try (and sends an event again, which the core would find
        already claimed); a late one changes nothing. Acknowledging in time leaves only what a kill in
        the remaining moment would lose, and only when the database is that slow: logged, so it shows."""
        handling = asyncio.ensure_future(self.core.handle(message))
        done, _ = await asyncio.wait({handling}, timeout=ACK_DEADLINE_S)
        if not done:
            log.warning("a Slack request took over %.1f s to store; acknowledged before it was stored", ACK_DEADLINE_S)
        return handling

    async def _on_form(self, ack, body: dict) -> None:
        """A submitted modal, answered in the HTTP response: field errors keep it open, an answer meant
        for the form replaces it ("update"), anything else closes it. The core's work is one short
        transaction, well inside Slack's 3 s; when the database is slower than that, the answer follows."""
        message = _read(translate.form_submission, body, fetch_file=self.download_file)
        if message is None:
            await ack()
            return
        handling = asyncio.ensure_future(self.core.handle(message))
        if not (await asyncio.wait({handling}, timeout=ACK_DEADLINE_S))[0]:
            # Past 3 s Slack tells the person it failed, inviting a second report of one being stored: the
            # modal says it is being saved, and shows the answer (a case code and secret) once it is.
            log.warning("a Slack form took over %.1f s to store; its answer follows in the modal", ACK_DEADLINE_S)
            await ack(response_action="update", view=render.form_view(Reply(text=texts.FORM_SAVING)))
            view_id = (body.get("view") or {}).get("id")
            await self._send_all(message, await handling, respond=None, modal={"id": view_id} if view_id else None, can_open_form=False)
            return
        replies = handling.result()
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
        conversation = _read(translate.home_opened, body)
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
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                # Each reply is tried on its own; aiohttp's messages name the address, so only the kind.
                log.warning("Slack could not be reached for a reply: %s", type(error).__name__)

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


# What reading a payload's fields as Slack documents them raises on values of other kinds (`payload.get`
# on a list, `len(3)`, `body["view"]["type"]`), and ValueError for UnicodeDecodeError and JSONDecodeError.
_UNREADABLE = (ValueError, TypeError, AttributeError, KeyError, IndexError)
Translated = TypeVar("Translated")


def _bolt_request(body: bytes, *, request: web.Request) -> AsyncBoltRequest | None:
    """The request as bolt reads it; None when the body is not a Slack payload: not UTF-8, not JSON, not
    a JSON object, or an object whose fields bolt cannot read (`"authorizations": 3`)."""
    try:
        bolt_request = AsyncBoltRequest(body=body.decode("utf-8"), query=request.query_string, headers=request.headers)
    except _UNREADABLE:
        return None
    return bolt_request if isinstance(bolt_request.body, dict) else None


def _read(translation: Callable[..., Translated], body: dict, **options) -> Translated | None:
    """`translation(body)`, or None for a payload (signed, so from Slack or a holder of the secret)
    whose fields are of kinds Slack never sends: ignored like a payload that is not for the bot."""
    try:
        return translation(body, **options)
    except _UNREADABLE:
        log.warning("a Slack payload with fields of unexpected kinds was ignored")
        return None


def _clicked_modal(body: dict) -> dict | None:
    view = translate.clicked_view(body)
    return view if view is not None and view.get("type") == "modal" and view.get("id") else None


async def _on_unhandled_error(error: Exception) -> None:
    """Bolt's own handler logs the error's message, which can quote a payload (a ValueError names the
    value it could not read): here only its kind and where it happened."""
    log.error("a Slack listener failed: %s\n%s", type(error).__name__, "".join(traceback.format_tb(error.__traceback__)))


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
