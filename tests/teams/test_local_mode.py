"""Local mode lends the headteacher's role to the emulator's one user (bot/local_mode.py): only while no
roles are set, taken back when the server stops, and a lend left behind by a crash taken back at the
next start."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import select

from bot.local_mode import LENT_NAME, lend_headteacher, take_back
from bot.server import serve
from bot.teams.emulator import EMULATOR_USER_ID
from storage import repository as repo
from storage.database import Database
from storage.models import AuditEvent

from .conftest import local_settings
from .test_auth_and_server import APP_ID, CLIENT_SECRET
from .test_serve import free_port, healthz


async def holders(database) -> list[tuple[str, str, str, str]]:
    async with database.transaction() as session:
        return [(h.role, h.platform, h.user_id, h.display_name) for h in await repo.list_role_holders(session=session)]


async def assign(database, role: str, *, platform: str = "teams", user_id: str = "29:real-person", name: str = "") -> None:
    async with database.transaction() as session:
        await repo.assign_role(session=session, role=role, platform=platform, user_id=user_id, display_name=name)


LENT = (repo.HEADTEACHER, "teams", EMULATOR_USER_ID, LENT_NAME)


async def test_the_role_is_lent_when_no_roles_are_set_and_taken_back(core):
    assert await lend_headteacher(core.database, platform="teams", user_id=EMULATOR_USER_ID)
    assert await holders(core.database) == [LENT]

    await take_back(core.database)

    assert await holders(core.database) == []
    async with core.database.transaction() as session:
        audit = [(e.action, e.actor_role) for e in (await session.exec(select(AuditEvent).order_by(AuditEvent.id))).all()]
    assert audit == [("role.assigned", "local_mode"), ("role.unassigned", "local_mode")]


@pytest.mark.parametrize(
    ("role", "platform"),
    [(repo.HEADTEACHER, "teams"), (repo.CHAIR_OF_GOVERNORS, "teams"), (repo.SAFEGUARDING_LEAD, "slack"), (repo.DEPUTY_HEADTEACHER, "slack")],
)
async def test_no_role_is_lent_when_any_role_is_set(core, role, platform):
    await assign(core.database, role, platform=platform, name="Mrs Patel")
    real = await holders(core.database)

    assert not await lend_headteacher(core.database, platform="teams", user_id=EMULATOR_USER_ID)
    await take_back(core.database)

    assert await holders(core.database) == real  # a role someone set is never taken back


async def test_a_leftover_lend_is_taken_back_at_the_next_start(core):
    assert await lend_headteacher(core.database, platform="teams", user_id=EMULATOR_USER_ID)
    # The server crashed: nothing took the role back. Then roles were set up for real.
    await assign(core.database, repo.CHAIR_OF_GOVERNORS, name="Mr Grey")

    assert not await lend_headteacher(core.database, platform="teams", user_id=EMULATOR_USER_ID)

    assert await holders(core.database) == [(repo.CHAIR_OF_GOVERNORS, "teams", "29:real-person", "Mr Grey")]


async def test_a_leftover_lend_with_still_no_roles_set_is_lent_once_again(core):
    assert await lend_headteacher(core.database, platform="teams", user_id=EMULATOR_USER_ID)
    assert await lend_headteacher(core.database, platform="teams", user_id=EMULATOR_USER_ID)
    assert await holders(core.database) == [LENT]


async def run_server(settings, *, while_up=None) -> None:
    """`policybot serve` (no emulator) until /healthz answers and `while_up` has run, then stopped."""
    stop = asyncio.Event()
    server = asyncio.create_task(serve(settings, with_emulator=False, stop=stop))
    try:
        await healthz(settings.port)
        if while_up is not None:
            await while_up()
    finally:
        stop.set()
        await asyncio.wait_for(server, 10)


async def test_serve_in_local_mode_lends_the_role_for_the_session_only(tmp_path, capsys):
    settings = local_settings(tmp_path, port=free_port())
    seen: list = []

    async def while_up() -> None:
        for _ in range(100):  # lent just after the server starts listening
            if found := await remaining(settings):
                seen.extend(found)
                return
            await asyncio.sleep(0.05)

    await run_server(settings, while_up=while_up)

    assert seen == [LENT]
    assert "you (the emulator's user) are the headteacher" in capsys.readouterr().out
    assert await remaining(settings) == []


async def leftover_lend_then(settings) -> None:
    """A local-mode server that crashed with the role lent, and a real role set afterwards."""
    database = await Database.open(settings=settings)
    try:
        assert await lend_headteacher(database, platform="teams", user_id=EMULATOR_USER_ID)
        await assign(database, repo.SAFEGUARDING_LEAD, platform="slack", user_id="U0DSL", name="Ms Green")
    finally:
        await database.close()


async def remaining(settings) -> list:
    """Who holds a role, read from the server's database file."""
    database = await Database.open(settings=settings)
    try:
        return await holders(database)
    finally:
        await database.close()


async def test_serve_in_local_mode_takes_a_leftover_lend_back(tmp_path):
    settings = local_settings(tmp_path, port=free_port())
    await leftover_lend_then(settings)

    await run_server(settings)

    assert await remaining(settings) == [(repo.SAFEGUARDING_LEAD, "slack", "U0DSL", "Ms Green")]


async def test_serve_with_teams_credentials_takes_a_leftover_lend_back(tmp_path):
    settings = local_settings(tmp_path, port=free_port(), host="127.0.0.1", microsoft_app_id=APP_ID, **CLIENT_SECRET)
    await leftover_lend_then(settings)

    await run_server(settings)

    assert await remaining(settings) == [(repo.SAFEGUARDING_LEAD, "slack", "U0DSL", "Ms Green")]
