"""Who may post to /api/messages, and what the one server mounts for which settings."""

from __future__ import annotations

import pytest

from bot.server import ConfigurationError, build_app, plan_server
from storage import repository as repo

from .conftest import RunningApp, local_settings

APP_ID = "3f5c8a9e-1b2d-4c6e-8f0a-1b2c3d4e5f60"
TENANT_ID = "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d"


CLIENT_SECRET = {"microsoft_app_password": "a-real-looking-secret", "microsoft_app_tenant_id": TENANT_ID}
MANAGED_IDENTITY = {"microsoft_app_type": "UserAssignedMSI", "microsoft_app_tenant_id": TENANT_ID}


@pytest.fixture(params=[CLIENT_SECRET, MANAGED_IDENTITY], ids=["client-secret", "managed-identity"])
def credentials_settings(tmp_path, request):
    return local_settings(tmp_path, microsoft_app_id=APP_ID, **request.param)


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-jwt", "Basic dXNlcjpwYXNz"])
async def test_with_credentials_a_request_without_a_valid_token_is_refused(
    credentials_settings, core, connector, activity, authorization
):
    running = await RunningApp(build_app(settings=credentials_settings, core=core)).start()
    try:
        headers = {"Authorization": authorization} if authorization else {}
        response = await running.post_activity(activity("message_personal", id="forged-1"), **headers)
    finally:
        await running.close()

    assert response.status == 401
    assert connector.calls == []
    async with core.database.transaction() as session:
        assert await repo.get_conversation_reference(session=session, platform="teams", user_id="user-id-0") is None


async def test_healthz_answers_without_a_token_even_when_teams_is_authenticated(credentials_settings, core):
    running = await RunningApp(build_app(settings=credentials_settings, core=core)).start()
    try:
        response = await running.session.get(f"{running.url}/healthz")
        body = await response.json()
    finally:
        await running.close()

    assert response.status == 200
    assert body == {"status": "ok", "platforms": ["teams"], "local_mode": False}


async def test_local_mode_serves_teams_anonymously_on_loopback_only(tmp_path):
    settings = local_settings(tmp_path, host="0.0.0.0")
    plan = plan_server(settings)

    assert plan.local_mode and plan.teams and not plan.slack
    assert plan.host == "127.0.0.1"


def test_configured_server_listens_where_host_says(tmp_path):
    settings = local_settings(tmp_path, host="0.0.0.0", microsoft_app_id=APP_ID, microsoft_app_password="secret", microsoft_app_tenant_id=TENANT_ID)

    plan = plan_server(settings)

    assert (plan.local_mode, plan.host, plan.platforms) == (False, "0.0.0.0", ["teams"])


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"microsoft_app_id": APP_ID}, "MICROSOFT_APP_ID is set without MICROSOFT_APP_PASSWORD"),
        ({"microsoft_app_password": "secret"}, "MICROSOFT_APP_PASSWORD is set without MICROSOFT_APP_ID"),
        ({"microsoft_app_id": APP_ID, "microsoft_app_password": "secret"}, "needs MICROSOFT_APP_TENANT_ID"),
    ],
)
async def test_half_a_teams_configuration_is_a_clear_error(tmp_path, core, values, message):
    with pytest.raises(ConfigurationError, match=message):
        build_app(settings=local_settings(tmp_path, **values), core=core)


def test_slack_token_without_a_way_in_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigurationError, match="SLACK_SIGNING_SECRET"):
        plan_server(local_settings(tmp_path, slack_bot_token="xoxb-1-2-3"))


@pytest.mark.parametrize("body", ["[1, 2]", "not json", '{"type": "message", "text": "hi"}'])
async def test_a_malformed_activity_is_a_plain_400(tmp_path, core, connector, body):
    running = await RunningApp(build_app(settings=local_settings(tmp_path), core=core)).start()
    try:
        response = await running.session.post(
            f"{running.url}/api/messages", data=body, headers={"Content-Type": "application/json"}
        )
        text = await response.text()
    finally:
        await running.close()

    assert response.status == 400 and "Traceback" not in text
    assert connector.calls == []
