import pytest
from pydantic import ValidationError

from bot.config import BUNDLED_POLICY, Settings


def test_defaults_need_nothing():
    settings = Settings(_env_file=None)
    assert settings.environment == "local"
    assert settings.policy_path == BUNDLED_POLICY
    assert not settings.slack_configured and not settings.teams_configured


def test_empty_paths_from_env_example_mean_the_bundled_files():
    settings = Settings(_env_file=None, policy_path="", knowledge_path="")
    assert settings.policy_path == BUNDLED_POLICY and settings.knowledge_path is None


@pytest.mark.parametrize(
    "values, complaint",
    [
        ({}, "production needs Slack or Teams credentials"),
        ({"slack_bot_token": "xoxb-your-bot-token", "slack_signing_secret": "abc"}, "SLACK_BOT_TOKEN still holds the placeholder"),
        ({"microsoft_app_id": "app", "microsoft_app_password": "change-me"}, "MICROSOFT_APP_PASSWORD still holds the placeholder"),
        ({"microsoft_app_id": "app"}, "MICROSOFT_APP_ID is set without MICROSOFT_APP_PASSWORD"),
    ],
)
def test_production_refuses_placeholders_and_missing_credentials(values, complaint):
    with pytest.raises(ValidationError, match=complaint):
        Settings(_env_file=None, environment="production", **values)


def test_production_accepts_a_managed_identity_without_a_password():
    settings = Settings(_env_file=None, environment="production", microsoft_app_id="app", microsoft_app_type="UserAssignedMSI")
    assert settings.teams_configured


def test_settings_come_from_dot_env(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("SCHOOL_NAME=Oakfield Primary School\nPORT=4000\n")
    settings = Settings()
    assert settings.school_name == "Oakfield Primary School" and settings.port == 4000


def test_env_example_documents_every_setting():
    import re
    from pathlib import Path

    example = (Path(__file__).resolve().parents[2] / ".env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^([A-Z_]+)=", example, re.M))
    assert documented == {name.upper() for name in Settings.model_fields}


def test_log_level_is_checked_and_case_insensitive():
    assert Settings(_env_file=None, log_level="warning").log_level == "WARNING"
    with pytest.raises(ValidationError, match="LOG_LEVEL|log_level"):
        Settings(_env_file=None, log_level="verbose")


def test_the_school_time_zone_must_be_a_real_one():
    assert Settings(_env_file=None, school_timezone="Europe/Dublin").school_timezone == "Europe/Dublin"
    with pytest.raises(ValidationError, match="unknown time zone 'Mars/Olympus'"):
        Settings(_env_file=None, school_timezone="Mars/Olympus")
