"""Whether an answer helped, stored without any trace of who asked."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Feedback
from storage.repository._common import check_length, today


async def record_feedback(*, session: AsyncSession, situation: str, verdict: str, helpful: bool) -> int:
    check_length(situation, what="feedback situation", limit=100)
    check_length(verdict, what="feedback verdict", limit=32)
    feedback = Feedback(situation=situation, verdict=verdict, helpful=helpful, given_on=today())
    session.add(feedback)
    await session.flush()
    return feedback.id
