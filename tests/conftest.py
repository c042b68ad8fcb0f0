"""Every test runs with a clean environment in its own folder: no `.env`, no real credentials, no
stray database from an earlier run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.config import Settings, get_settings

FIXTURES = Path(__file__).parent / "fixtures"
# Variables a test may set on purpose (e.g. the PostgreSQL URL .ci/run provides) start with this.
TEST_PREFIX = "POLICYBOT_TEST_"


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path, monkeypatch):
    setting_names = {name.upper() for name in Settings.model_fields}
    for name in list(os.environ):
        if name.upper() in setting_names:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES
