"""`policybot chat`: the conversation core in a terminal. Typed text is a direct message; typing the
number of a button clicks it. Like the Slack and Teams adapters it only translates: text in, neutral
message out; neutral reply in, plain text out.

Messages the bot sends a person (the headteacher's cards, their answers) are shown after each turn to
whoever types here, when they are its recipient; while no roles are set the terminal's user is lent the
headteacher's role for the session (`bot.local_mode`), so every flow can be tried alone."""

from __future__ import annotations

import asyncio
import getpass
import textwrap
import uuid

from bot import cli_texts
from handlers.messages import ButtonClick, ConversationRef, Form, FormSubmission, IncomingMessage, Reply

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
        lines.append(f"{fact.label}: {fact.value or (fact.person.user_id if fact.person else '')}")
    if reply.buttons:
        lines.append("")
        lines.append("  ".join(f"[{n}] {b.label}" for n, b in enumerate(reply.buttons, start=first_button_number)))
    return "\n".join(lines)


class TerminalChat:
    def __init__(self, core, *, user_id: str):
        from storage.delivery import OutboxDispatcher

        self.core = core
        self.conversation = ConversationRef(platform=PLATFORM, conversation_id=f"terminal:{user_id}", user_id=user_id)
        self.buttons = []  # the buttons of the last answer, numbered from 1
        self.form: Form | None = None  # a form the last answer opened: `chat` asks its fields one by one
        self._outbox = OutboxDispatcher(db=core.database, send=self._deliver, worker_id=f"terminal:{uuid.uuid4().hex[:8]}")
        self._delivered: list[Reply] = []

    async def say(self, text: str) -> str:
        choice = text.strip()
        if choice.isdigit() and 1 <= int(choice) <= len(self.buttons):
            button = self.buttons[int(choice) - 1]
            return await self._send(click=ButtonClick(action_id=button.action_id, value=button.value))
        return await self._send(text=text)

    async def submit(self, values: dict[str, str]) -> str:
        form, self.form = self.form, None
        return await self._send(form=FormSubmission(form_id=form.form_id, values=values, private_metadata=form.private_metadata))

    async def _send(self, **content) -> str:
        # A terminal is seen by the person typing only: forms open right here.
        message = IncomingMessage(conversation=self.conversation, is_direct=True, form_here=True, event_id=uuid.uuid4().hex, **content)
        replies = await self.core.handle(message)
        # Whatever that turn sent to this person (a notification for someone on Slack or Teams stays queued).
        await self.core.wait_for_background()
        self._delivered = []
        await self._outbox.run_once()
        self.buttons = []
        shown = []
        for reply in [*replies, *self._delivered]:
            shown.append(render(reply, first_button_number=len(self.buttons) + 1))
            self.buttons += list(reply.buttons)
            if reply.form is not None:
                self.form = reply.form
        return "\n\n".join(part for part in shown if part)

    async def _deliver(self, notification) -> None:
        await self.core.deliver(notification, senders={PLATFORM: self._receive})

    async def _receive(self, *, user_id: str, reply: Reply) -> None:
        if user_id != self.conversation.user_id:
            raise LookupError("that person is not at this terminal")
        self._delivered.append(reply)


async def fill_form(form: Form, *, read, write) -> dict[str, str]:
    """Ask for each field of the form in turn; a choice by its number, a toggle by y or n."""
    write(f"— {form.title} —")
    if form.intro:
        write(textwrap.fill(form.intro, WIDTH))
    values: dict[str, str] = {}
    for field in form.fields:
        if field.kind == "files":
            continue  # the terminal cannot attach files
        if field.hint:
            write(textwrap.fill(f"({field.hint})", WIDTH))
        if field.kind == "choice":
            for number, option in enumerate(field.choices, start=1):
                write(f"  [{number}] {option.label}")
            answer = (await asyncio.to_thread(read, f"{field.label} (number) > ")).strip()
            chosen = int(answer) - 1 if answer.isdigit() and 0 < int(answer) <= len(field.choices) else None
            values[field.field_id] = field.choices[chosen].value if chosen is not None else field.initial
        elif field.kind == "toggle":
            answer = (await asyncio.to_thread(read, f"{field.label}? (y/N) > ")).strip().lower()
            values[field.field_id] = "true" if answer in ("y", "yes") else "false"
        else:
            optional = "" if field.required else " (optional)"
            values[field.field_id] = await asyncio.to_thread(read, f"{field.label}{optional} > ")
    return values


async def chat(settings, *, read=input, write=print) -> int:
    from handlers.core import ConversationCore

    from bot import local_mode

    core = await ConversationCore.start(settings=settings)
    user = _local_user()
    try:
        from bot.advisor_commands import rules_line

        session = TerminalChat(core, user_id=user)
        write(rules_line(core.advisor))
        write(cli_texts.CHAT_WELCOME)
        if await local_mode.lend_headteacher(core.database, platform=PLATFORM, user_id=user):
            write(cli_texts.CHAT_LENT_HEADTEACHER)
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
            while session.form is not None:
                values = await fill_form(session.form, read=read, write=write)
                write(await session.submit(values))
                write("")
        write(cli_texts.CHAT_GOODBYE)
    finally:
        await local_mode.take_back(core.database, platform=PLATFORM, user_id=user)
        await core.close()
    return 0


def _local_user() -> str:
    try:
        return f"local:{getpass.getuser()}"
    except (KeyError, OSError):
        return "local:user"
