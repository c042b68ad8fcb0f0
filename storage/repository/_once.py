"""Changes made once, however many try at the same moment: a decision two deciders click together, a
reminder two processes send together."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.errors import NotFound
from storage.repository._common import Actor


def actor_columns(prefix: str, actor: Actor) -> dict:
    """The `<prefix>_role`, `<prefix>_platform` and `<prefix>_user_id` values recording who did something."""
    return {f"{prefix}_role": actor.role, f"{prefix}_platform": actor.platform, f"{prefix}_user_id": actor.user_id}


async def change_once(session: AsyncSession, model, row_id: int, *, from_status: str, what: str, **values):
    """Set `values` on the row if it is still in `from_status`: one UPDATE that only such a row matches, so of
    two changes at once (a double click, two deciders) the second changes nothing. Returns the row as stored
    and whether this call changed it; NotFound when there is no such row."""
    result = await session.exec(
        update(model)
        .where(model.id == row_id, model.status == from_status)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    row = await session.get(model, row_id, populate_existing=True)
    if row is None:
        raise NotFound(f"There is no {what} {row_id}.")
    return row, result.rowcount == 1


async def claim_unflagged(session: AsyncSession, model, flag: str, *conditions) -> list:
    """The rows matching `conditions` whose boolean `flag` is still false, with the flag set: for reminders
    sent once. The rows are locked (FOR UPDATE on PostgreSQL; SQLite transactions are serialised), so a
    second process doing the same at the same time waits, then finds the flag set and takes nothing."""
    found = await session.exec(
        select(model).where(col(getattr(model, flag)).is_(False), *conditions).order_by(model.id).with_for_update()
    )
    rows = found.all()
    for row in rows:
        setattr(row, flag, True)
        session.add(row)
    return rows
