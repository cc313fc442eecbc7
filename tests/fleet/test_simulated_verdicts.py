"""segbot's real SSH adapter and diagnose use case against simulated hosts decode what they
decoded on the lab hosts the answers were recorded from."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app.diagnose import Inventory, diagnose_host
from bot.cli import main

from .commands import load_segfault_playbook
from .connector import connector
from .fleet import SERVICE, UNIT, running_fleet, specs
from .recording import load_profile, verdict
from .simhost import BINARY, HostSpec


@pytest.mark.parametrize("profile", ["crashing", "healthy"])
def test_simulated_host_decodes_to_the_recorded_verdict(profile: str, tmp_path: Path) -> None:
    with running_fleet(specs(1, profile=profile), tmp_path) as fleet:
        _, connect = connector(fleet.config_path)
        name = fleet.specs[0].name
        diagnosis = diagnose_host(
            runner=connect(name), playbook=load_segfault_playbook(), now=datetime.now(UTC),
            inventory=Inventory(host=name, service=SERVICE, unit=UNIT, binary=BINARY,
                                user="segbot"),
            evidence_dir=tmp_path / "evidence")
    assert verdict(diagnosis) == load_profile(profile).verdict
    if profile == "crashing":  # the copies match the sha256 the host printed
        copies = {o.step: o.verified for o in diagnosis.steps if o.artifact is not None}
        assert copies == {"fetch_core": True, "fetch_binary": True}
        assert diagnosis.core_removed is True


def test_cli_fan_out_over_simulated_hosts(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    hosts = [HostSpec(name="a", address="127.0.0.2"),
             HostSpec(name="b", address="127.0.0.3", version="2.19.0"),
             HostSpec(name="c", address="127.0.0.4", profile="healthy")]
    with running_fleet(hosts, tmp_path) as fleet, pytest.raises(SystemExit) as exited:
        main(["diagnose", "--config", str(fleet.config_path), "--json", SERVICE])
    out = capsys.readouterr().out
    assert exited.value.code == 0
    data = json.loads(out)
    radius = data["blast_radius"]
    assert radius["crashing"] == ["a", "b"] and radius["healthy"] == ["c"]
    assert {v["value"]: v["hosts"] for v in radius["versions"]} == {
        "2.18.7": ["a", "c"], "2.19.0": ["b"]}
    build_ids = {h["host"]: [f["build_id"] for f in h["facts"] if f["kind"] == "build_id"]
                 for h in data["hosts"]}
    assert build_ids["a"] == build_ids["c"] != build_ids["b"]
    assert all(h["signature"] == load_profile("crashing").verdict["signature"]
               for h in data["hosts"] if h["host"] in ("a", "b"))

