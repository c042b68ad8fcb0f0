"""PostgreSQL runs may be skipped on a developer's machine, never in CI."""

from __future__ import annotations

import pytest

from postgres_server import POSTGRES_URL_VARIABLE, postgres_server_url


def test_without_a_server_postgres_tests_skip_locally(monkeypatch):
    monkeypatch.delenv(POSTGRES_URL_VARIABLE, raising=False)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="POLICYBOT_TEST_POSTGRES_URL is not set"):
        postgres_server_url()


def test_without_a_server_postgres_tests_fail_in_ci(monkeypatch):
    monkeypatch.delenv(POSTGRES_URL_VARIABLE, raising=False)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="in CI the PostgreSQL tests must run"):
        postgres_server_url()


def test_the_server_url_is_taken_from_the_environment(monkeypatch):
    monkeypatch.setenv(POSTGRES_URL_VARIABLE, "postgresql+asyncpg://u@127.0.0.1:5/postgres")
    assert postgres_server_url() == "postgresql+asyncpg://u@127.0.0.1:5/postgres"
