"""Who holds which role (headteacher, deputy, chair of governors, designated safeguarding lead, whoever runs
the school's accounts) on which platform."""

from __future__ import annotations

from sqlalchemy import delete
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import RoleHolder, RoleHolderPublic
from storage.repository._common import SYSTEM, Actor, add_audit, check_length, insert_for, utcnow
from storage.role_names import ROLES


def check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; the roles are: {', '.join(ROLES)}")


async def assign_role(
    *, session: AsyncSession, role: str, platform: str, user_id: str, display_name: str = "", actor: Actor = SYSTEM
) -> RoleHolderPublic:
    """Make the person a holder of the role (a role may have several holders, e.g. on Slack and on Teams)."""
    check_role(role)
    check_length(display_name, what="display name", limit=200)
    statement = (
        insert_for(session, RoleHolder)
        .values(role=role, platform=platform, user_id=user_id, display_name=display_name, assigned_at=utcnow())
        .on_conflict_do_update(index_elements=["role", "platform", "user_id"], set_={"display_name": display_name})
    )
    await session.exec(statement)
    found = await session.exec(
        select(RoleHolder).where(RoleHolder.role == role, RoleHolder.platform == platform, RoleHolder.user_id == user_id)
    )
    holder = found.one()
    add_audit(
        session, actor=actor, action="role.assigned", subject_type="role_holder", subject_id=holder.id,
        detail=f"{role} on {platform}: {user_id} {display_name}".strip(),
    )
    return RoleHolderPublic.model_validate(holder)


async def unassign_role(*, session: AsyncSession, role: str, platform: str, user_id: str, actor: Actor = SYSTEM) -> bool:
    check_role(role)
    result = await session.exec(
        delete(RoleHolder)
        .where(RoleHolder.role == role, RoleHolder.platform == platform, RoleHolder.user_id == user_id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:
        add_audit(
            session, actor=actor, action="role.unassigned", subject_type="role_holder", subject_id=None,
            detail=f"{role} on {platform}: {user_id}",
        )
    return bool(result.rowcount)


async def list_role_holders(*, session: AsyncSession, role: str | None = None, platform: str | None = None) -> list[RoleHolderPublic]:
    statement = select(RoleHolder).order_by(RoleHolder.role, RoleHolder.platform, RoleHolder.id)
    if role is not None:
        statement = statement.where(RoleHolder.role == role)
    if platform is not None:
        statement = statement.where(RoleHolder.platform == platform)
    return [RoleHolderPublic.model_validate(holder) for holder in (await session.exec(statement)).all()]


async def roles_of(*, session: AsyncSession, platform: str, user_id: str) -> set[str]:
    found = await session.exec(select(RoleHolder.role).where(RoleHolder.platform == platform, RoleHolder.user_id == user_id))
    return set(found.all())


async def display_name_of(*, session: AsyncSession, platform: str, user_id: str) -> str:
    """The name the person was given when assigned a role (the first one given, of any role), or ""."""
    found = await session.exec(
        select(RoleHolder.display_name)
        .where(RoleHolder.platform == platform, RoleHolder.user_id == user_id, RoleHolder.display_name != "")
        .order_by(RoleHolder.id)
        .limit(1)
    )
    return found.first() or ""
