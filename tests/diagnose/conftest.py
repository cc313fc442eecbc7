"""Fixtures for the diagnose tests: a real sshd on loopback and targets that reach it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.diagnose.sshd_server import Sshd, available, start_sshd


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    reason = available()
    if reason:
        pytest.skip(reason)
    server = start_sshd(tmp_path_factory.mktemp("sshd"))
    yield server
    server.stop()
