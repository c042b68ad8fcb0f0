"""Local mode lends the headteacher's role to the one person trying the bot (the emulator's chat user, or
whoever runs `policybot chat`), so a newcomer can try every flow alone: ask, be asked, decide. Only while
no roles are set, and only for that session: the role is taken back when the session ends, and a lend a
crash left behind is taken back when the same person's next session starts, or when the bot starts with
real credentials."""

from __future__ import annotations

from storage import repository as repo

# The name the lent role is given: how a lend is told apart from a role someone set.
LENT_NAME = "Headteacher (local mode)"
LOCAL_ACTOR = repo.Actor(role="local_mode")


async def lend_headteacher(database, *, platform: str, user_id: str) -> bool:
    """Make the person headteacher if nobody holds any role; True when the role was lent."""
    async with database.transaction() as session:
        await _take_back(session, platform=platform, user_id=user_id)
        if await repo.list_role_holders(session=session):
            return False
        await repo.assign_role(session=session, role=repo.HEADTEACHER, platform=platform, user_id=user_id,
                               display_name=LENT_NAME, actor=LOCAL_ACTOR)
    return True


async def take_back(database, *, platform: str | None = None, user_id: str | None = None) -> None:
    """Take back the lend of that person, or every lend (at a start with real credentials)."""
    async with database.transaction() as session:
        await _take_back(session, platform=platform, user_id=user_id)


async def _take_back(session, *, platform: str | None, user_id: str | None) -> None:
    for holder in await repo.list_role_holders(session=session):
        if holder.display_name == LENT_NAME and (platform is None or (holder.platform, holder.user_id) == (platform, user_id)):
            await repo.unassign_role(session=session, role=holder.role, platform=holder.platform, user_id=holder.user_id,
                                     actor=LOCAL_ACTOR)
