"""Whether an answer helped, stored without any trace of who asked, once per answer per person."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Feedback
from storage.repository._common import check_length, cipher_of, insert_for, today

# What a click did to the stored feedback.
FEEDBACK_NEW = "new"
FEEDBACK_REPEATED = "repeated"  # the person had given the same feedback on this answer
FEEDBACK_CHANGED = "changed"  # they had given the other one: it is replaced


@dataclass(frozen=True, slots=True)
class FeedbackResult:
    feedback_id: int
    outcome: str


async def record_feedback(
    *, session: AsyncSession, situation: str, verdict: str, helpful: bool, platform: str, answer_id: str, user_id: str
) -> FeedbackResult:
    """Store the person's feedback on the answer (`answer_id`: the message it was given in). Who and which
    message are kept only as one keyed digest, so a second click is recognised but never traced back."""
    check_length(situation, what="feedback situation", limit=100)
    check_length(verdict, what="feedback verdict", limit=32)
    digest = cipher_of(session).digest(f"feedback\x00{platform}\x00{answer_id}\x00{user_id}")
    inserted = await session.exec(
        insert_for(session, Feedback)
        .values(situation=situation, verdict=verdict, helpful=helpful, given_on=today(), giver_digest=digest)
        .on_conflict_do_nothing(index_elements=["giver_digest"])
        .returning(Feedback.id)
    )
    feedback_id = inserted.scalar_one_or_none()
    if feedback_id is not None:
        return FeedbackResult(feedback_id=feedback_id, outcome=FEEDBACK_NEW)
    given = (await session.exec(select(Feedback).where(Feedback.giver_digest == digest))).one()
    if given.helpful == helpful:
        return FeedbackResult(feedback_id=given.id, outcome=FEEDBACK_REPEATED)
    given.helpful = helpful
    given.given_on = today()
    session.add(given)
    await session.flush()
    return FeedbackResult(feedback_id=given.id, outcome=FEEDBACK_CHANGED)
