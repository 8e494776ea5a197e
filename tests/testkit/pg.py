"""The PostgreSQL test server (.ci/run starts one; SQLCODER_TEST_PG_URL names it) and the rule
for what a test does without a dependency: skip locally, fail in CI."""

from __future__ import annotations

import os

import pytest

PG_URL = os.environ.get("SQLCODER_TEST_PG_URL", "")
IN_CI = bool(os.environ.get("CI"))


def missing(reason: str) -> None:
    """Skip locally, but never silently in CI: there a missing dependency is a failure."""
    if IN_CI:
        pytest.fail(f"{reason} (CI must provide it)")
    pytest.skip(reason)


def pg_dsn() -> str:
    """The test server's URL for psycopg (no SQLAlchemy driver prefix)."""
    if not PG_URL:
        missing("SQLCODER_TEST_PG_URL is not set")
    return PG_URL.replace("postgresql+psycopg://", "postgresql://")
