"""The one typed configuration of policybot, read from the environment and `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

BUNDLED_POLICY = Path(__file__).resolve().parent.parent / "policy_kb" / "data" / "social_media_policy.txt"

# Values copied unchanged from .env.example must never run a production bot.
PLACEHOLDER_MARKERS = ("change-me", "changeme", "placeholder", "xoxb-your", "xapp-your", "your-")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: Literal["local", "production"] = "local"

    # The policy and what the advisor knows about it.
    policy_path: Path = BUNDLED_POLICY
    school_name: str = ""
    knowledge_path: Path | None = None
    # The school's own rules, written by `policybot kb init` and edited by the school; they come first.
    rules_path: Path | None = None
    # Where rules derived from the policy (and a parsed .docx or .pdf) are kept between starts. Empty: the
    # folder of the SQLite database, or ./data with PostgreSQL.
    policy_cache_dir: Path | None = None

    # Storage.
    database_url: str = "sqlite+aiosqlite:///./data/policybot.db"
    encryption_key: str = ""
    encryption_key_file: Path = Path("./data/encryption.key")
    retention_days: int = Field(default=365, ge=1)

    # The people reports and escalations go to.
    headteacher_name: str = "the headteacher"
    chair_of_governors_name: str = "the chair of governors"
    safeguarding_lead_name: str = "the Designated Safeguarding Lead"
    # A report's notifications leave at a random delay of up to this many seconds, so their time says less
    # about when the reporter wrote (urgent reports leave at once). 0 turns it off.
    notify_jitter_seconds: int = Field(default=900, ge=0, le=86_400)
    # A question to the headteacher left unanswered this many school days (weekends skipped) brings one
    # reminder to them, and the asker is told it is still waiting.
    question_reminder_school_days: int = Field(default=2, ge=1, le=30)
    # Whoever is asked to remove something has this long; then they and the headteacher are reminded.
    removal_deadline_hours: float = Field(default=24, gt=0, le=24 * 30)
    # The school's clock: the times on cards and in messages ("1 December 2026 at 14:05").
    school_timezone: str = "Europe/London"

    # HTTP server.
    host: str = "127.0.0.1"
    port: int = Field(default=3978, ge=1, le=65535)

    # Slack.
    slack_bot_token: str = ""
    slack_signing_secret: str = ""
    slack_app_token: str = ""
    slack_api_url: str = "https://slack.com/api/"

    # Microsoft Teams (Microsoft 365 Agents SDK).
    microsoft_app_id: str = ""
    microsoft_app_password: str = ""
    microsoft_app_tenant_id: str = ""
    microsoft_app_type: Literal["MultiTenant", "SingleTenant", "UserAssignedMSI"] = "SingleTenant"
    # Card buttons: "submit" (Action.Submit, works everywhere) or "execute" (Action.Execute, Teams updates
    # the card in place).
    teams_card_actions: Literal["submit", "execute"] = "submit"
    # Local mode: the port of Microsoft's Teams emulator (it picks another if this one is taken).
    teams_emulator_port: int = Field(default=56150, ge=1, le=65535)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("school_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}: use a name such as Europe/London") from None
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _log_level_in_any_case(cls, value):
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("policy_path", "knowledge_path", "rules_path", "policy_cache_dir", mode="before")
    @classmethod
    def _empty_path_means_bundled(cls, value, info):
        # `POLICY_PATH=` copied empty from .env.example means "the bundled file", not the current folder.
        if isinstance(value, str) and not value.strip():
            return BUNDLED_POLICY if info.field_name == "policy_path" else None
        return value

    @property
    def cache_dir(self) -> Path:
        if self.policy_cache_dir is not None:
            return self.policy_cache_dir
        prefix = "sqlite+aiosqlite:///"
        if self.database_url.startswith(prefix) and ":memory:" not in self.database_url:
            return Path(self.database_url[len(prefix):]).parent
        return Path("./data")

    @property
    def slack_configured(self) -> bool:
        return bool(self.slack_bot_token and (self.slack_signing_secret or self.slack_app_token))

    @property
    def teams_configured(self) -> bool:
        # A managed identity (UserAssignedMSI) authenticates without a password.
        return bool(self.microsoft_app_id and (self.microsoft_app_password or self.microsoft_app_type == "UserAssignedMSI"))

    @model_validator(mode="after")
    def _refuse_placeholders_in_production(self) -> "Settings":
        if self.environment != "production":
            return self
        secrets = {
            "SLACK_BOT_TOKEN": self.slack_bot_token,
            "SLACK_SIGNING_SECRET": self.slack_signing_secret,
            "SLACK_APP_TOKEN": self.slack_app_token,
            "MICROSOFT_APP_PASSWORD": self.microsoft_app_password,
            "ENCRYPTION_KEY": self.encryption_key,
        }
        for name, value in secrets.items():
            if value and any(marker in value.lower() for marker in PLACEHOLDER_MARKERS):
                raise ValueError(f"{name} still holds the placeholder from .env.example; set a real value")
        if self.microsoft_app_id and not self.teams_configured:
            raise ValueError("MICROSOFT_APP_ID is set without MICROSOFT_APP_PASSWORD; Teams requests could not be authenticated")
        if not (self.slack_configured or self.teams_configured):
            raise ValueError("production needs Slack or Teams credentials (see .env.example)")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def settings_or_explain(stream=None) -> Settings | None:
    """The settings, or None after printing one line that names each bad setting (for the CLI)."""
    import sys

    from pydantic import ValidationError

    try:
        return get_settings()
    except ValidationError as error:
        problems = []
        for item in error.errors():
            name = ".".join(str(part) for part in item.get("loc", ())).upper()
            message = str(item.get("msg", "invalid value")).removeprefix("Value error, ")
            problems.append(f"{name}: {message}" if name else message)
        print("policybot: invalid settings: " + "; ".join(problems), file=stream or sys.stderr)
        return None
