"""The databases every store-backed test runs on: SQLite in a temporary directory, and a real
PostgreSQL server (SEGBOT_TEST_POSTGRES_URL, started by .ci/setup.d/10-postgres.sh), each test
on a fresh database."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

BACKENDS = ["sqlite", "postgresql"]


def postgres_admin_url() -> str | None:
    url = os.environ.get("SEGBOT_TEST_POSTGRES_URL")
    if url:
        return url
    if os.environ.get("CI") == "true":
        pytest.fail("CI must run the store tests on PostgreSQL: SEGBOT_TEST_POSTGRES_URL unset")
    pytest.skip("PostgreSQL not configured: source .ci/setup.d/10-postgres.sh to run these")
    return None


def fresh_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """A URL for an empty database on `backend`, dropped afterwards (PostgreSQL)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'segbot.db'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = make_url(postgres_admin_url() or "")
    name = f"segbot_t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()
