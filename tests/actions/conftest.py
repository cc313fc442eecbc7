"""The containment tests reuse the Slack harness (tests/slack) and the deploy helpers
(tests/deploy) by their directories, as the rest of the suite does."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
for helper_dir in (TESTS / "slack", TESTS / "deploy", Path(__file__).resolve().parent):
    if str(helper_dir) not in sys.path:
        sys.path.insert(0, str(helper_dir))


import glob  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
from collections.abc import Iterator  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture
def local_setup(tmp_path: Path) -> Iterator[tuple[object, object, Path]]:
    """As tests/slack's: the playbook's commands really run here with recorded crash tools."""
    from slack_harness import LocalRunner, fake_tools

    from bot.app.diagnose import Inventory
    from bot.app.diagnosis_feed import DiagnosisSetup
    from bot.config import load_playbook_file

    binary = tmp_path / "opt" / "checkout-api"
    binary.parent.mkdir()
    shutil.copyfile("/bin/true", binary)
    binary.chmod(0o755)
    runner = LocalRunner(fake_tools(tmp_path / "tools", binary))
    setup = DiagnosisSetup(
        connect=lambda host: runner,
        inventory=lambda host, service: Inventory(
            host=host, service=service, unit="checkout-api.service", binary=str(binary),
            user="segbot", sudo=False),
        playbook=load_playbook_file(), evidence_dir=tmp_path / "evidence")
    before = set(glob.glob("/var/tmp/segbot-checkout-api-*.core"))
    try:
        yield setup, runner, binary
    finally:
        for left in set(glob.glob("/var/tmp/segbot-checkout-api-*.core")) - before:
            os.unlink(left)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database on each backend the store supports (as tests/store)."""
    from store.databases import fresh_database

    yield from fresh_database(request.param, tmp_path)


@pytest.fixture
def contain(database_url: str) -> Iterator[object]:
    """containment(config, environ=...) on this test's database; engines disposed after."""
    from actions_setup import TOKEN_ENV, containment

    made: list[object] = []

    def make(config: object, *, environ: object = TOKEN_ENV) -> object:
        result = containment(database_url, config, environ=environ)  # type: ignore[arg-type]
        made.append(result[1])
        return result

    yield make
    for store in made:
        store.engine.dispose()  # type: ignore[attr-defined]
