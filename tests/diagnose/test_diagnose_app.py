"""The diagnose use case against a CommandRunner double: ordering, concurrency, statuses."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fake_runner import FakeRunner, ok

from bot.app.diagnose import Inventory, Limits, diagnose_host
from bot.app.ports.hosts import CommandResult
from bot.config import load_playbook_file
from bot.errors import ConnectFailed

NOW = datetime(2026, 1, 22, 3, 20, tzinfo=UTC)
BOOK = load_playbook_file()
CORE, BINARY = b"\x7fELF core bytes", b"\x7fELF binary bytes"
INVENTORY = Inventory(host="node-17", service="checkout-api", unit="checkout-api.service",
                      binary="/opt/checkout/bin/checkout-api", user="segbot")
NONCE = "5e" * 16  # the random part of the core's name, fixed here
CORE_PATH = f"/var/tmp/segbot-cores/checkout-api-20260122T032000Z-{NONCE}.core"

SEED = {
    "coredumpctl --no-pager list": (
        "TIME                          PID  UID  GID SIG     COREFILE EXE\n"
        "Wed 2026-01-22 03:11:07 UTC 24891 1001 1001 SIGSEGV present  "
        "/opt/checkout/bin/checkout-api\n"),
    "dmesg": ("[Wed Jan 22 03:11:07 2026] checkout-api[24891]: segfault at 0000000000000038 "
              "ip 000055c1b2f9a4d2 sp 00007ffd7b5d1a10 error 4 in "
              "checkout-api[55c1b2f82000+3e0000]\n"),
    "systemctl show": "Restart=always\nRestartUSec=200ms\nNRestarts=37\n",
    f"sha256sum {CORE_PATH}": f"{hashlib.sha256(CORE).hexdigest()}  {CORE_PATH}\n",
    "sha256sum /opt": f"{hashlib.sha256(BINARY).hexdigest()}  /opt/checkout/bin/checkout-api\n",
    "journalctl --no-pager -u checkout-api.service -S '30 min ago'": (
        "Jan 22 03:11:07 node-17 checkout-api[24891]: FATAL: worker 3 crashed password=hunter2x\n"
        "Jan 22 03:11:07 node-17 systemd[1]: checkout-api.service: Main process exited, "
        "code=dumped, status=11/SEGV\n"),
}


def seed_answer(command: str) -> CommandResult:
    bare = command.removeprefix("sudo -n ")
    for prefix, output in SEED.items():
        if bare.startswith(prefix.replace("'30 min ago'", '"30 min ago"')):
            return ok(output)
    return ok("")



def fake(delay: float = 0.0) -> FakeRunner:
    return FakeRunner(seed_answer, files={CORE_PATH: CORE,
                                          "/opt/checkout/bin/checkout-api": BINARY}, delay=delay)


def test_a_crashing_host_is_diagnosed_and_its_core_preserved(tmp_path: Path) -> None:
    runner = fake()
    result = diagnose_host(nonce=NONCE, runner=runner, playbook=BOOK, inventory=INVENTORY,
                           evidence_dir=tmp_path, now=NOW)
    status = {o.step: o.status for o in result.steps}
    assert set(status.values()) == {"ok"}, status
    assert "sudo -n coredumpctl --no-pager list -r /opt/checkout/bin/checkout-api" in (
        runner.commands)
    assert (f"sudo -n coredumpctl --no-pager dump 24891 "
            f"COREDUMP_EXE=/opt/checkout/bin/checkout-api 2>&1 >{CORE_PATH}") in runner.commands
    core = result.outcome("fetch_core")
    assert core is not None and core.verified is True and core.artifact is not None
    assert core.artifact.path.read_bytes() == CORE
    # the copy matched: the host's copy is deleted, after every step that reads it
    assert runner.commands[-1] == f"rm -f -- {CORE_PATH}" and result.core_removed is True
    assert runner.closed
    assert result.report is not None and result.report.crashes
    crash = result.report.primary
    assert crash is not None and crash.signal == "SIGSEGV" and crash.fault_address == 0x38
    assert crash.module_offset == 0x184D2
    journal = result.outcome("journal")
    assert journal is not None and "hunter2x" not in journal.output


def test_independent_steps_run_concurrently_and_evidence_starts_first(tmp_path: Path) -> None:
    runner = fake(delay=0.1)
    started: list[str] = []
    result = diagnose_host(nonce=NONCE, runner=runner, playbook=BOOK, inventory=INVENTORY,
                           evidence_dir=tmp_path, now=NOW, limits=Limits(max_parallel_steps=8),
                           progress=lambda h, step, s: started.append(step) if s == "running"
                           else None)
    assert runner.max_in_flight == 8
    assert started[0] == "cores"
    assert all(o.status == "ok" for o in result.steps)


def test_no_core_skips_what_needs_it_and_runs_the_rest(tmp_path: Path) -> None:
    runner = FakeRunner(lambda c: ok("No coredumps found.\n", 1) if "list" in c else ok(""),
                        files={"/opt/checkout/bin/checkout-api": BINARY})
    result = diagnose_host(nonce=NONCE, runner=runner, playbook=BOOK, inventory=INVENTORY,
                           evidence_dir=tmp_path, now=NOW)
    status = {o.step: (o.status, o.reason) for o in result.steps}
    assert status["dump_core"] == ("skipped", "no core found")
    assert status["fetch_core"][0] == "skipped"
    assert status["journal"] == ("ok", None)
    assert status["fetch_binary"][0] == "ok"
    assert not any("coredumpctl --no-pager dump" in c for c in runner.commands)


def test_a_host_that_dies_gives_a_partial_report(tmp_path: Path) -> None:
    calls = 0

    def dies(command: str) -> CommandResult:
        nonlocal calls
        calls += 1
        if calls > 3:
            raise ConnectFailed("node-17: connection lost: Socket is closed")
        return seed_answer(command)

    runner = FakeRunner(dies, files={})
    result = diagnose_host(nonce=NONCE, runner=runner, playbook=BOOK, inventory=INVENTORY,
                           evidence_dir=tmp_path, now=NOW, limits=Limits(max_parallel_steps=1))
    statuses = [o.status for o in result.steps]
    assert statuses[:3] == ["ok", "ok", "ok"]
    assert "failed" in statuses and "skipped" in statuses
    assert result.error is not None and "connection lost" in result.error
    skipped = [o for o in result.steps if o.status == "skipped"]
    assert all("host unreachable" in (o.reason or "") for o in skipped)
    assert result.report is not None  # decoded from what did arrive


def test_statuses_for_timeouts_failures_and_ok_exits(tmp_path: Path) -> None:
    def answer(command: str) -> CommandResult:
        if command.startswith("sudo -n dmesg"):  # the step times out
            return CommandResult("", "", 124, 15.0, timed_out=True)
        if command.startswith("ldd"):
            return ok("", 1, "ldd: /opt/checkout/bin/checkout-api: No such file\n")
        if command.startswith("grep"):
            return ok("", 1)
        return seed_answer(command)

    runner = FakeRunner(answer, files={CORE_PATH: CORE, "/opt/checkout/bin/checkout-api": BINARY})
    result = diagnose_host(nonce=NONCE, runner=runner, playbook=BOOK, inventory=INVENTORY,
                           evidence_dir=tmp_path, now=NOW)
    by_id = {o.step: o for o in result.steps}
    assert by_id["kernel"].status == "timed-out"
    assert by_id["ldd"].status == "failed"
    assert by_id["ldd"].reason == "exit status 1: ldd: /opt/checkout/bin/checkout-api: No such file"
    assert by_id["coredump_conf"].status == "ok"  # grep finding nothing is fine
    assert result.error is None


def test_a_copy_that_does_not_match_the_hosts_checksum_fails(tmp_path: Path) -> None:
    runner = FakeRunner(seed_answer, files={CORE_PATH: b"tampered",
                                            "/opt/checkout/bin/checkout-api": BINARY})
    result = diagnose_host(nonce=NONCE, runner=runner, playbook=BOOK, inventory=INVENTORY,
                           evidence_dir=tmp_path, now=NOW)
    core = result.outcome("fetch_core")
    assert core is not None and core.status == "failed" and core.verified is False
    assert "differs" in (core.reason or "")


@pytest.mark.parametrize(("user", "sudo", "prefixed"), [
    ("segbot", True, True), ("root", True, False), ("segbot", False, False)])
def test_sudo_prefix_only_when_needed(tmp_path: Path, user: str, sudo: bool,
                                      prefixed: bool) -> None:
    runner = fake()
    inventory = Inventory(host="node-17", service="checkout-api", unit="checkout-api.service",
                          binary="/opt/checkout/bin/checkout-api", user=user, sudo=sudo)
    diagnose_host(nonce=NONCE, runner=runner, playbook=BOOK, inventory=inventory,
                  evidence_dir=tmp_path, now=NOW)
    listing = next(c for c in runner.commands if "coredumpctl --no-pager list" in c)
    assert listing.startswith("sudo -n ") is prefixed
    assert not any(c.startswith("sudo -n ldd") for c in runner.commands)


def test_the_run_deadline_skips_what_is_left(tmp_path: Path) -> None:
    ticks = iter(range(0, 10_000, 7))
    runner = fake()
    result = diagnose_host(nonce=NONCE, runner=runner, playbook=BOOK, inventory=INVENTORY,
                           evidence_dir=tmp_path, now=NOW, limits=Limits(run_timeout=30),
                           clock=lambda: float(next(ticks)))
    reasons = {o.reason for o in result.steps if o.status == "skipped"}
    assert any("run deadline" in (r or "") for r in reasons)
