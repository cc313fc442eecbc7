"""The verdicts of `segbot diagnose` on a real crash-looping host are the right ones: the lab
service reads a field through NULL at one site, its unit has LimitCORE=infinity, and
systemd-coredump stores every core. Counts and times are checked against the host's own
coredumpctl. Needs root and the lab (skipped without)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.diagnose.cli_run import lab_config, run_cli
from tests.lab.factory import HostFactory

pytestmark = pytest.mark.lab


def _host_cores(host: Any) -> list[datetime]:
    """The times of the host's checkout-api cores, as coredumpctl lists them (JSON, usec)."""
    listed = host.run(["coredumpctl", "--no-pager", "--json=short", "list",
                       "/opt/checkout/bin/checkout-api"], check=True).stdout
    return sorted(datetime.fromtimestamp(int(e["time"]) / 1e6, tz=UTC)
                  for e in json.loads(listed))


def test_null_deref_host_gets_the_right_verdicts(lab_host_factory: HostFactory, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    host = lab_host_factory("triage-null")
    host.wait_for_crash_loop_end()
    cores = _host_cores(host)
    code, out, err = run_cli(["diagnose", "--config", str(lab_config(tmp_path, [host])),
                                "--json", host.name, "checkout-api"], capsys)
    assert code == 0, err
    data = json.loads(out)
    classification = data["classification"]
    assert (classification["kind"], classification["confidence"]) == ("null-deref", "high")
    assert data["determinism"]["verdict"] == "deterministic", data["determinism"]
    assert "same site (price_v4)" in data["determinism"]["text"]
    actions = [r["action"] for r in data["recommendations"]]
    assert "run_sanitizers" not in actions and "raise_core_limit" not in actions, actions
    assert data["evidence_health"] == []
    found = data["occurrences"]
    first_core = cores[0]
    first = datetime.fromisoformat(found[0]["time"])
    print(f"\nlab triage: {len(found)} occurrences, host cores {len(cores)}, first crash "
          f"{first.isoformat()} vs first core {first_core.isoformat()}")
    assert 0 < len(found) <= len(cores)
    assert abs((first - first_core).total_seconds()) <= 5
