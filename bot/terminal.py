"""`policybot chat`: the conversation core in a terminal. Typed text is a direct message; typing the
number of a button clicks it. Like the Slack and Teams adapters it only translates: text in, neutral
message out; neutral reply in, plain text out."""

from __future__ import annotations

import asyncio
import getpass
import textwrap
import uuid

from bot import cli_texts
from handlers.messages import ButtonClick, ConversationRef, IncomingMessage, Reply

PLATFORM = "terminal"
QUIT_WORDS = {"quit", "exit", "bye", "q"}
WIDTH = 100


def render(reply: Reply, *, first_button_number: int = 1) -> str:
    lines = []
    if reply.title:
        lines.append(f"{reply.icon}  {reply.title}".strip())
        lines.append("")
    lines += [textwrap.fill(paragraph, WIDTH) if paragraph.strip() else "" for paragraph in reply.text.split("\n")]
    for quote in reply.quotes:
        lines.append("")
        lines.append(textwrap.fill(f"“{quote.text}”", WIDTH, initial_indent="  ", subsequent_indent="   "))
        lines.append(f"      — {quote.section}")
    for fact in reply.facts:
        lines.append(f"{fact.label}: {fact.value}")
    if reply.buttons:
        lines.append("")
        lines.append("  ".join(f"[{n}] {b.label}" for n, b in enumerate(reply.buttons, start=first_button_number)))
    return "\n".join(lines)


class TerminalChat:
    def __init__(self, core, *, user_id: str):
        self.core = core
        self.conversation = ConversationRef(platform=PLATFORM, conversation_id=f"terminal:{user_id}", user_id=user_id)
        self.buttons = []  # the buttons of the last answer, numbered from 1

    async def say(self, text: str) -> str:
        choice = text.strip()
        if choice.isdigit() and 1 <= int(choice) <= len(self.buttons):
            button = self.buttons[int(choice) - 1]
            message = IncomingMessage(
                conversation=self.conversation,
                is_direct=True,
                click=ButtonClick(action_id=button.action_id, value=button.value),
                event_id=uuid.uuid4().hex,
            )
        else:
            message = IncomingMessage(conversation=self.conversation, is_direct=True, text=text, event_id=uuid.uuid4().hex)
        replies = await self.core.handle(message)
        self.buttons = []
        shown = []
        for reply in replies:
            shown.append(render(reply, first_button_number=len(self.buttons) + 1))
            self.buttons += list(reply.buttons)
        return "\n\n".join(shown)


async def chat(settings, *, read=input, write=print) -> int:
    from handlers.core import ConversationCore

    core = await ConversationCore.start(settings=settings)
    try:
        session = TerminalChat(core, user_id=_local_user())
        write(cli_texts.CHAT_WELCOME)
        while True:
            try:
                line = await asyncio.to_thread(read, cli_texts.CHAT_PROMPT)
            except (EOFError, KeyboardInterrupt):
                write("")
                break
            if line.strip().lower() in QUIT_WORDS:
                break
            write(await session.say(line))
            write("")
        write(cli_texts.CHAT_GOODBYE)
    finally:
        await core.close()
    return 0


def _local_user() -> str:
    try:
        return f"local:{getpass.getuser()}"
    except (KeyError, OSError):
        return "local:user"
