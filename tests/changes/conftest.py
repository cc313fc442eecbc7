"""Store-backed change tests run once on SQLite and once on PostgreSQL; the lab scenario
reuses the Slack harness (tests/slack) by its directory, as tests/actions does."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from store.databases import BACKENDS, fresh_database

SLACK = Path(__file__).resolve().parent.parent / "slack"
if str(SLACK) not in sys.path:
    sys.path.insert(0, str(SLACK))


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from fresh_database(request.param, tmp_path)
