"""Offering an anonymous report. The report form itself comes with the reports feature; until then the
button says honestly where to turn."""

from __future__ import annotations

from handlers import actions, texts
from handlers.messages import Button, IncomingMessage, Reply


def offer(*, message: IncomingMessage) -> Reply:
    return Reply(
        text=texts.REPORT_OFFER,
        title=texts.REPORT_OFFER_TITLE,
        icon="🛡️",
        buttons=(Button(label=texts.START_REPORT_BUTTON, action_id=actions.START_REPORT, value="{}"),),
        private=message.private,
    )


def start(*, message: IncomingMessage, headteacher: str) -> Reply:
    return Reply(
        text=texts.REPORT_NOT_READY.format(headteacher=headteacher),
        title=texts.REPORT_NOT_READY_TITLE,
        icon="🛡️",
        private=True,
    )
