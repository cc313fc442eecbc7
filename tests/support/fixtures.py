"""Fixtures used by several test folders, registered for the whole suite by tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app.diagnosis_feed import DiagnosisSetup
from tests.support.databases import BACKENDS, fresh_database
from tests.support.slack_harness import LocalRunner, local_diagnosis


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database on each backend the store supports: SQLite, then PostgreSQL."""
    yield from fresh_database(request.param, tmp_path)


@pytest.fixture
def local_setup(tmp_path: Path) -> Iterator[tuple[DiagnosisSetup, LocalRunner, Path]]:
    """A diagnosis that really runs the playbook's commands here, with recorded crash tools."""
    with local_diagnosis(tmp_path) as found:
        yield found
