"""`local_bot`: segbot serving Slack with a local host running the playbook."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app.diagnosis_feed import DiagnosisSetup
from tests.slack.bot_config import ONCALL, config
from tests.support.slack_harness import LocalRunner, Running, running_bot


@pytest.fixture
def local_bot(local_setup: tuple[DiagnosisSetup, LocalRunner, Path],
              tmp_path: Path) -> Iterator[tuple[Running, LocalRunner]]:
    setup, runner, binary = local_setup
    with running_bot(tmp_path, config(binary, tmp_path / "evidence"), diagnosis=setup,
                     usergroups={"S0ONCALL": ONCALL}) as bot:
        yield bot, runner
