"""Fixtures of the Slack tests: store-backed ones run on SQLite and on PostgreSQL (as
tests/store do); `local_bot` is segbot serving Slack with a local host running the playbook."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_harness import LocalRunner, Running, local_diagnosis, running_bot
from store.databases import BACKENDS, fresh_database

from bot.app.diagnosis_feed import DiagnosisSetup


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from fresh_database(request.param, tmp_path)


ONCALL = ["U0BOB", "U0CAROL"]


def config(binary: Path, evidence: Path) -> dict[str, Any]:
    return {
        "defaults": {"evidence_dir": str(evidence), "run_timeout": 60},
        "hosts": {"node-17": {"address": "127.0.0.1"}, "node-18": {"address": "127.0.0.2"}},
        "services": {"checkout-api": {"unit": "checkout-api.service", "binary": str(binary),
                                      "hosts": ["node-17", "node-18"]}},
        "slack": {"incident_channel_prefix": "inc", "oncall_usergroup": "S0ONCALL",
                  "report_min_interval_seconds": 0.25, "report_global_interval_seconds": 0.05,
                  "poll_seconds": 0.2},
        "authorization": {"resolve": ["S0ONCALL"], "rerun": ["U0ALICE", "S0ONCALL"],
                          "rollback": ["S0ONCALL"]},
    }


@pytest.fixture
def local_setup(tmp_path: Path) -> Iterator[tuple[DiagnosisSetup, LocalRunner, Path]]:
    """A diagnosis that really runs the playbook's commands here (slack_harness)."""
    with local_diagnosis(tmp_path) as found:
        yield found


@pytest.fixture
def local_bot(local_setup: tuple[DiagnosisSetup, LocalRunner, Path],
              tmp_path: Path) -> Iterator[tuple[Running, LocalRunner]]:
    setup, runner, binary = local_setup
    with running_bot(tmp_path, config(binary, tmp_path / "evidence"), diagnosis=setup,
                     usergroups={"S0ONCALL": ONCALL}) as bot:
        yield bot, runner
