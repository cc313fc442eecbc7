"""pytest fixtures for the lab. Enable with `pytest_plugins = ["tests.lab.fixtures"]`.

Without root or without the cached rootfs tarball the lab's tests skip with the reason; with
CI=true they fail instead, because CI must run them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from . import cgroups, factory, rootfs
from .commands import LabError, LabUnavailable
from .factory import HostFactory
from .host import LabHost

LAB_FIXTURES = {"lab_rootfs", "lab_host_factory", "lab_host", "lab_root"}


def unavailable(reason: str) -> NoReturn:
    """Skip, or fail under CI=true: a missing lab in CI is a broken CI, not a skipped test."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"the lab is required in CI but unavailable: {reason}", pytrace=False)
    pytest.skip(f"lab unavailable: {reason}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that use a lab fixture get the `lab` marker (select or deselect with -m lab)."""
    for item in items:
        if LAB_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.lab)


@pytest.fixture(scope="session")
def lab_factory_state() -> Iterator[HostFactory]:
    reason = factory.machine_ready()
    if reason:
        unavailable(reason)
    core_pattern = factory.CORE_PATTERN.read_text()
    factory.sweep()
    session = factory.new_session()
    try:
        root = rootfs.prepare(session, core_pattern=core_pattern)
    except (LabUnavailable, LabError) as exc:
        factory.sweep(only=session)
        unavailable(str(exc))
    made = HostFactory(root, session)
    yield made
    changed = made.core_pattern_changed()
    made.close()
    cgroups.remove_lab_root()
    if changed:
        pytest.fail(changed, pytrace=False)


@pytest.fixture(scope="session")
def lab_root(lab_factory_state: HostFactory) -> rootfs.LabRoot:
    """The prepared root filesystem with the session's SSH client key."""
    return lab_factory_state.lab_root


@pytest.fixture(scope="session")
def lab_rootfs(lab_root: rootfs.LabRoot) -> Path:
    """Path of the prepared bookworm root (the read-only lower layer of every host)."""
    return lab_root.path


@pytest.fixture(scope="session")
def lab_host_factory(lab_factory_state: HostFactory) -> HostFactory:
    """make_host(name, *, crashing=True) -> LabHost; all hosts are removed at session end."""
    return lab_factory_state


@pytest.fixture(scope="session")
def lab_host(lab_host_factory: HostFactory) -> LabHost:
    """One shared crashing host for tests that only read from it (never stop or kill it)."""
    return lab_host_factory("lab-shared")
