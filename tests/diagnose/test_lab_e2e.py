"""segbot diagnose against real systemd hosts from the lab (tests/lab): crash loop, real sshd,
real journald and systemd-coredump. Needs root and the lab; skipped (or failed under CI) without.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.ssh import SshRunner
from bot.app.diagnose import Inventory, diagnose_host
from bot.config import Target, load_playbook_file
from bot.errors import ConnectFailed
from tests.diagnose.cli_run import SERVICE, lab_config, run_cli
from tests.lab.factory import HostFactory
from tests.lab.host import LabHost

pytestmark = pytest.mark.lab

def _target(host: LabHost) -> Target:
    return Target(name=host.name, address=host.address, port=host.port, user=host.user,
                  identity_file=host.identity_file, known_hosts=host.known_hosts, sudo=True)


def _facts(data: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [f for f in data["facts"] if f["kind"] == kind]


def test_crashing_host_end_to_end(lab_host: LabHost, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    lab_host.wait_for_crashes(1)
    config = lab_config(tmp_path, [lab_host])
    code, out, err = run_cli(["diagnose", "--config", str(config), "--json", lab_host.name,
                                "checkout-api"], capsys)
    assert code == 0, err
    data = json.loads(out)
    status = {s["id"]: s["status"] for s in data["steps"]}
    for step in ("cores", "dump_core", "core_sha256", "fetch_core", "fetch_binary", "build_id",
                 "journal", "restart_policy", "coredump_info", "backtrace"):
        assert status[step] == "ok", (step, data["steps"])
    assert data["signature"] and "price_v4" in data["signature"]
    # The core segbot dumped (coredumpctl info + gdb); a host that crashed before lists older
    # cores too, which only have a pid and a time.
    crash = next(c for c in data["crashes"] if "coredump" in c["sources"] and c["frames"])
    assert crash["signal"] == "SIGSEGV" and crash["unit"] == "checkout-api.service"
    assert crash["module"] == "checkout-api" and crash["module_offset"] is not None
    top = crash["frames"][0]
    assert top["function"] == "price_v4" and top["file"].endswith("checkout_api.c"), top
    assert all(c["process"] == "checkout-api" for c in data["crashes"] if c.get("process"))
    [policy] = _facts(data, "restart_policy")
    assert policy["restart"] == "always"
    core = next(a for a in data["artifacts"] if a["step"] == "fetch_core")
    binary = next(a for a in data["artifacts"] if a["step"] == "fetch_binary")
    assert core["verified"] is True and binary["verified"] is True
    copy = Path(core["path"])
    assert hashlib.sha256(copy.read_bytes()).hexdigest() == core["sha256"]
    remote = lab_host.run(["sha256sum", SERVICE["binary"]], check=True).stdout.split()[0]
    assert binary["sha256"] == remote
    build_ids = {f["build_id"] for f in _facts(data, "build_id")}
    readelf = lab_host.run(["readelf", "-n", SERVICE["binary"]], check=True).stdout
    assert any(b in readelf for b in build_ids)


def test_two_hosts_in_parallel_crashing_and_healthy(lab_host_factory: HostFactory,
                                                   tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    sick = lab_host_factory("diag-sick")
    well = lab_host_factory("diag-well", crashing=False)
    sick.wait_for_crashes(5)  # the loop has ended (start limit): the count holds still
    config = lab_config(tmp_path, [sick, well])
    code, out, err = run_cli(["diagnose", "--config", str(config), "--json", "checkout-api"],
                               capsys)
    assert code == 0, err
    data = json.loads(out)
    radius = data["blast_radius"]
    assert radius["crashing"] == ["diag-sick"] and radius["healthy"] == ["diag-well"]
    assert all(lead["step"] != "build_id" for lead in data["leads"])  # same binary everywhere
    # The healthy host's kernel log is the machine's (lab hosts are containers): its
    # neighbours' crashes there are not its own, and nothing is recommended for it.
    well_report = next(h for h in data["hosts"] if h["host"] == "diag-well")
    assert [f["name"] for f in _facts(well_report, "container")] == ["systemd-nspawn"]
    assert well_report["crashes"] == [] and well_report["signature"] is None
    assert well_report["classification"] is None and well_report["occurrences"] == []
    assert not {r["action"] for r in well_report["recommendations"]} & {
        "restart_delay", "rollback", "disable_flag", "run_sanitizers"}
    sick_report = next(h for h in data["hosts"] if h["host"] == "diag-sick")
    cores = sick.run(["coredumpctl", "--no-pager", "list", SERVICE["binary"]]).stdout
    assert len(sick_report["occurrences"]) == cores.count("SIGSEGV"), cores


def test_changed_host_key_is_refused_and_nothing_runs(lab_host_factory: HostFactory,
                                                      lab_host: LabHost, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    other = lab_host_factory("diag-keyed")
    wrong = tmp_path / "known_hosts"
    key = other.host_key_line.split(" ", 1)[1]
    wrong.write_text(f"{lab_host.address} {key}\n")
    before = lab_host.run(["sh", "-c", "ls /var/tmp | grep -c segbot || true"]).stdout.strip()
    config = lab_config(tmp_path, [lab_host], known_hosts=wrong)
    code, _, err = run_cli(["diagnose", "--config", str(config), lab_host.name,
                              "checkout-api"], capsys)
    assert code == 1 and "CHANGED" in err
    after = lab_host.run(["sh", "-c", "ls /var/tmp | grep -c segbot || true"]).stdout.strip()
    assert before == after
    assert not (tmp_path / "evidence").exists()


def test_hanging_command_times_out_and_is_gone_from_the_host(lab_host: LabHost) -> None:
    runner = SshRunner(_target(lab_host), kill_after=1)
    try:
        result = runner.run("sleep 417 & wait", timeout=1.5)
    finally:
        runner.close()
    assert result.timed_out
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        left = lab_host.run(["sh", "-c", "pgrep -f 'sleep 41[7]' || true"]).stdout.strip()
        if not left:
            break
        time.sleep(0.2)
    assert not left


def test_flood_is_capped_with_bounded_memory(lab_host: LabHost) -> None:
    runner = SshRunner(_target(lab_host), max_output_bytes=1 << 20)
    try:
        runner.connect()
        tracemalloc.start()
        result = runner.run("(head -c 10485760 /dev/zero | tr '\\0' o) & "
                            "(head -c 10485760 /dev/zero | tr '\\0' e >&2) & wait", timeout=30)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        runner.close()
    assert result.truncated and len(result.stdout) <= 1 << 20
    assert peak < 16 << 20


def test_host_that_dies_mid_run_gives_a_partial_report(lab_host_factory: HostFactory,
                                                       tmp_path: Path) -> None:
    doomed = lab_host_factory("diag-doomed")
    doomed.wait_for_crashes(1)
    killed = threading.Event()

    def progress(host: str, step: str, status: str) -> None:
        if step == "backtrace" and status == "running" and not killed.is_set():
            killed.set()
            doomed.kill()

    runner = SshRunner(_target(doomed), connect_timeout=3)
    runner.connect()
    result = diagnose_host(
        runner=runner, playbook=load_playbook_file(), now=datetime.now(UTC),
        inventory=Inventory(host=doomed.name, service="checkout-api", user=doomed.user,
                            **SERVICE), evidence_dir=tmp_path, progress=progress)
    assert killed.is_set(), [(o.step, o.status, o.reason) for o in result.steps]
    by_id = {o.step: o for o in result.steps}
    assert by_id["cores"].status == "ok"  # before the kill
    assert by_id["backtrace"].status != "ok"  # started as the host died
    assert result.error is not None
    lost = [o for o in result.steps if o.status != "ok"]
    reasons = ("unreachable", "connection lost", "host went away")
    assert lost and all(any(r in (o.reason or "") for r in reasons) for o in lost), lost
    assert {o.status for o in lost} <= {"failed", "skipped"}
    assert result.report is not None and result.report.crashes  # what arrived is decoded
    with pytest.raises(ConnectFailed):
        SshRunner(_target(doomed), connect_timeout=2).connect()
