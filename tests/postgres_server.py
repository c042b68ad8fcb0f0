"""Which PostgreSQL server the tests run on (storage, Slack reports, the soak checks)."""

from __future__ import annotations

import os

import pytest

POSTGRES_URL_VARIABLE = "POLICYBOT_TEST_POSTGRES_URL"


def postgres_server_url() -> str:
    """The PostgreSQL server to test on, or skip (locally) / fail (in CI) when there is none."""
    url = os.environ.get(POSTGRES_URL_VARIABLE, "")
    if url:
        return url
    reason = f"{POSTGRES_URL_VARIABLE} is not set: no PostgreSQL server to test on (bash .ci/run starts one)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"in CI the PostgreSQL tests must run, but {reason}")
    pytest.skip(reason)
