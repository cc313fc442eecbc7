"""Replica tests: the lease store on SQLite and PostgreSQL; serve processes on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.databases import fresh_database
from tests.support.slack_emulator import SlackEmulator, running_emulator


@pytest.fixture
def postgres_url(tmp_path: Path) -> Iterator[str]:
    yield from fresh_database("postgresql", tmp_path)


@pytest.fixture
def emulator() -> Iterator[SlackEmulator]:
    with running_emulator() as running:
        yield running
