"""The recording Web API (slack_harness.RecordingSlackApi) with a memory: every chat.postMessage it takes
is kept in its channel's history, and conversations.history (a GET, as slack_sdk sends it) answers with
those messages, newest first, their message metadata included only when asked with include_all_metadata,
as Slack does."""

from __future__ import annotations

from aiohttp import web
from slack_harness import BOT_USER_ID, RecordingSlackApi

BOT_ID = "B0POLICYBOT"
# What slack_sdk sends for include_all_metadata=True (booleans in a query string become 1 and 0).
TRUE_IN_QUERY = ("1", "true")
HISTORY_PAGE_MAX = 999


class SlackApiWithHistory(RecordingSlackApi):
    def __init__(self, **options) -> None:
        super().__init__(**options)
        self.history: dict[str, list[dict]] = {}  # channel id → messages as Slack stores them, oldest first
        self._answers_to_lose = 0
        self.app.router.add_get("/api/{method}", self._get)

    async def _api(self, request: web.Request) -> web.Response:
        recorded = len(self.calls)
        response = await super()._api(request)
        for method, arguments in self.calls[recorded:]:
            if method == "chat.postMessage":
                self._keep(arguments)
                if self._answers_to_lose:
                    self._answers_to_lose -= 1
                    return web.Response(status=504, text="Gateway Timeout")
        return response

    def lose_next_post_answer(self) -> None:
        """Take the next chat.postMessage but answer it with a gateway's 504, as when Slack's answer is
        lost on the way back: the sender sees a failure for a message that is in the DM."""
        self._answers_to_lose += 1

    def _keep(self, arguments: dict) -> None:
        message = {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "text": arguments.get("text", ""), "ts": arguments["_ts"]}
        if arguments.get("blocks"):
            message["blocks"] = arguments["blocks"]
        if arguments.get("metadata"):
            message["metadata"] = arguments["metadata"]
        self.history.setdefault(arguments["channel"], []).append(message)

    async def _get(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        arguments = {**request.query, "_authorization": request.headers.get("Authorization", "")}
        refusal = self._refusal(method, arguments)
        if refusal is not None:
            return refusal
        self.calls.append((method, arguments))
        if method != "conversations.history":
            return web.json_response({"ok": False, "error": "unknown_method"})
        if arguments.get("channel") not in self.history and arguments.get("channel") not in self.dm_channels.values():
            return web.json_response({"ok": False, "error": "channel_not_found"})
        with_metadata = arguments.get("include_all_metadata", "").lower() in TRUE_IN_QUERY
        limit = min(int(arguments.get("limit") or 100), HISTORY_PAGE_MAX)
        newest_first = list(reversed(self.history.get(arguments["channel"], [])))
        page = [
            message if with_metadata else {key: value for key, value in message.items() if key != "metadata"}
            for message in newest_first[:limit]
        ]
        return web.json_response({"ok": True, "messages": page, "has_more": len(newest_first) > limit, "pin_count": 0})
