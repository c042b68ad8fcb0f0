"""What the handler tests share: a scripted advisor, a neutral DM, a row counter, and clicks and forms
signed as the bot signs what it issues (for values a test writes itself; a reply's own are signed)."""

from __future__ import annotations

from sqlmodel import func, select

from handlers.messages import ButtonClick, ConversationRef, FormSubmission, IncomingMessage
from policy_kb.answer import Answer, Citation, Verdict

PHOTOS = Answer(
    verdict=Verdict.NOT_ALLOWED,
    answer="Photos of pupils must not go on personal accounts.",
    citations=(Citation(section="Photographs and videos", quote="Staff must not post images of pupils.", clause_id="photos-1"),),
    next_steps=("Delete the photo from your account.", "Use the school's own page instead."),
    situation="photos_of_pupils",
    confident=True,
)


class ScriptedAdvisor:
    def __init__(self) -> None:
        self.answer = PHOTOS
        self.questions: list[str] = []

    def ask(self, question: str) -> Answer:
        self.questions.append(question)
        return self.answer


def dm(text: str = "", *, event_id: str = "", click: ButtonClick | None = None, private: bool = False, direct: bool = True):
    return IncomingMessage(
        conversation=ConversationRef(platform="slack", conversation_id="D1", user_id="U1"),
        is_direct=direct,
        text=text,
        click=click,
        event_id=event_id,
        private=private,
    )


async def count(database, model) -> int:
    async with database.transaction() as session:
        return (await session.exec(select(func.count()).select_from(model))).one()


def signed_click(core, action_id: str, value: str = "{}", message_id: str | None = None) -> ButtonClick:
    """A click on a button of `action_id` carrying `value` as the bot would have issued it."""
    return ButtonClick(action_id=action_id, value=core.signer.sign_button(action_id=action_id, value=value), message_id=message_id)


def signed_submission(core, form_id: str, *, metadata: str = "", files=(), **values) -> FormSubmission:
    """A form of `form_id` sent back with `metadata` as the bot would have issued it."""
    return FormSubmission(form_id=form_id, values=values, files=files,
                          private_metadata=core.signer.sign_form(form_id=form_id, metadata=metadata))
