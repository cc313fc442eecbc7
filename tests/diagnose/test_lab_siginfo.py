"""A container whose neighbours flood the machine's kernel log: the host's segfault line falls
out of the kernel step's `tail`. The fault address still comes from the core (gdb's $_siginfo),
and triage still says null dereference. Needs root and the lab (skipped without)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.config import default_playbook_path
from tests.diagnose.cli_run import lab_config, run_cli
from tests.lab.factory import HostFactory

pytestmark = pytest.mark.lab

KERNEL_STEP = "dmesg -T | grep -F -A1 -e {process} | tail -n 100"


def test_fault_address_from_the_core_when_the_kernel_line_is_gone(
        lab_host_factory: HostFactory, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    host = lab_host_factory("siginfo-flooded")
    host.wait_for_crashes(1)
    shipped = default_playbook_path().read_text()
    assert KERNEL_STEP in shipped
    # The real dmesg through sudo and grep, keeping none of it: what a flood leaves of the
    # host's line in the last 100.
    playbook = tmp_path / "flooded.yaml"
    playbook.write_text(shipped.replace(KERNEL_STEP, KERNEL_STEP.replace("100", "0")))
    code, out, err = run_cli(["diagnose", "--config", str(lab_config(tmp_path, [host])),
                              "--playbook", str(playbook), "--json", host.name, "checkout-api"],
                             capsys)
    assert code == 0, err
    data = json.loads(out)
    status = {s["id"]: s["status"] for s in data["steps"]}
    assert status["kernel"] == "ok" and status["backtrace"] == "ok", data["steps"]
    assert not [c for c in data["crashes"] if "kernel" in c["sources"]], data["crashes"]
    crash = next(c for c in data["crashes"] if "gdb" in c["sources"])
    assert "coredump" in crash["sources"]  # the core's record and gdb's reading: one crash
    assert crash["fault_address"] == "0x8", crash
    assert (crash["signal"], crash["signal_code"], crash["cause"]) == (
        "SIGSEGV", "SEGV_MAPERR", "not-present")
    classification = data["classification"]
    assert (classification["kind"], classification["confidence"]) == ("null-deref", "high")
    assert "SEGV_MAPERR in the core's siginfo" in classification["evidence"][0]
