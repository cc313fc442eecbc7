"""Tests of the lab itself: real hosts boot, crash for real, keep evidence, and leave nothing."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .commands import LabError, LabUnavailable
from .factory import HostFactory
from .host import LabHost
from .rootfs import core_watch

SEGFAULT_LINE = re.compile(
    r"checkout-api\[\d+\]: segfault at 8 ip [0-9a-f]+ sp [0-9a-f]+ error 4 in checkout-api\["
)


def ssh(
    host: LabHost, *command: str, known_hosts: Path | None = None
) -> subprocess.CompletedProcess[str]:
    argv = host.ssh_argv(*command)
    if known_hosts is not None:
        argv = [a.replace(str(host.known_hosts), str(known_hosts)) for a in argv]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


# -- no root needed ---------------------------------------------------------------------------


def test_core_watch_follows_the_machines_plain_core_pattern() -> None:
    assert core_watch("core\n") == ("/var/lib/checkout-api", "core")
    assert core_watch("core.%e.%p") == ("/var/lib/checkout-api", "core.")
    assert core_watch("/var/crash/core.%p") == ("/var/crash", "core.")


@pytest.mark.parametrize("pattern", ["|/lib/systemd/systemd-coredump %P %u %g", "", "  \n"])
def test_core_watch_refuses_a_pattern_that_never_reaches_the_container(pattern: str) -> None:
    with pytest.raises(LabUnavailable, match="core_pattern"):
        core_watch(pattern)


# -- real hosts -------------------------------------------------------------------------------


def test_host_answers_ssh_with_its_pinned_key(lab_host: LabHost) -> None:
    done = ssh(lab_host, "hostname; cat /etc/machine-id; id -un")
    assert done.returncode == 0, done.stderr
    hostname, machine_id, user = done.stdout.split()
    assert (hostname, user) == ("lab-shared", "segbot")
    assert re.fullmatch(r"[0-9a-f]{32}", machine_id)
    assert lab_host.host_key_line.startswith(f"{lab_host.address} ssh-ed25519 ")
    assert lab_host.known_hosts.read_text().strip() == lab_host.host_key_line


def test_crash_leaves_real_journal_core_and_kernel_evidence(lab_host: LabHost) -> None:
    assert lab_host.wait_for_crashes(2, timeout=60) >= 2
    journal = lab_host.run(["journalctl", "-u", "checkout-api.service", "--no-pager"]).stdout
    assert "code=dumped, status=11/SEGV" in journal
    assert "version=2.18.7 git=4f3c2a1 feature_flags=pricing_v4:on" in journal
    assert re.search(r"request_id=[0-9a-f]{32} path=/checkout/confirm user_agent=", journal)
    info = lab_host.run(["coredumpctl", "info", "--no-pager", "checkout-api"]).stdout
    assert "Signal: 11 (SEGV)" in info
    assert "Unit: checkout-api.service" in info
    assert "price_v4 (checkout-api + 0x" in info
    dmesg = lab_host.run(["dmesg"]).stdout
    assert SEGFAULT_LINE.search(dmesg), dmesg[-2000:]


def test_preserved_core_is_complete_enough_for_gdb(lab_host: LabHost) -> None:
    lab_host.wait_for_crashes(1, timeout=60)
    dumped = lab_host.run(["coredumpctl", "dump", "--no-pager", "-o", "/var/tmp/lab.core",
                           "checkout-api"])
    assert dumped.returncode == 0, dumped.stderr
    bt = lab_host.run(["gdb", "-batch", "-nx", "-ex", "bt", "/opt/checkout/bin/checkout-api",
                       "/var/tmp/lab.core"], timeout=120)
    assert "SIGSEGV" in bt.stdout
    assert re.search(r"#0 .*price_v4 .*checkout_api\.c:\d+", bt.stdout), bt.stdout


def test_run_inside_ends_at_its_deadline(lab_host: LabHost) -> None:
    start = time.monotonic()
    done = lab_host.run(["sleep", "30"], timeout=1)
    assert done.returncode == 124
    assert time.monotonic() - start < 5
    left = lab_host.run(["pgrep", "-x", "sleep"])
    assert left.returncode == 1, left.stdout


def test_restart_policy_is_the_real_units(lab_host: LabHost) -> None:
    shown = lab_host.run(["systemctl", "show", "checkout-api.service",
                          "-p", "Restart,RestartUSec,LimitCORE,ExecMainStatus"]).stdout
    assert "Restart=always" in shown
    assert "RestartUSec=200ms" in shown
    assert "LimitCORE=infinity" in shown


def test_sudo_allows_the_playbook_and_nothing_else(lab_host: LabHost) -> None:
    lab_host.wait_for_crashes(1, timeout=60)
    allowed = ssh(lab_host, "sudo -n journalctl -u checkout-api.service -n 1 --no-pager"
                  " && sudo -n coredumpctl list --no-pager && sudo -n dmesg | tail -n 1"
                  " && sudo -n readelf -n /opt/checkout/bin/checkout-api")
    assert allowed.returncode == 0, allowed.stderr
    assert "Build ID" in allowed.stdout
    assert "unable to resolve host" not in allowed.stderr
    refused = ssh(lab_host, "sudo -n id -u")
    assert refused.returncode != 0
    assert refused.stdout.strip() != "0"
    for other in ("sudo -n coredumpctl --no-pager dump 1 >/dev/null",  # any process's core
                  "sudo -n coredumpctl --no-pager info 1 COREDUMP_EXE=/usr/sbin/sshd",
                  "sudo -n coredumpctl dump checkout-api >/dev/null"):
        assert "password is required" in ssh(lab_host, other).stderr, other


def test_core_and_binary_come_off_the_host_as_the_playbook_fetches_them(
    lab_host: LabHost, tmp_path: Path
) -> None:
    lab_host.wait_for_crashes(1, timeout=60)
    dumped = ssh(lab_host, "pid=$(sudo -n coredumpctl --no-pager --no-legend list -r "
                 "/opt/checkout/bin/checkout-api | awk '$5 ~ /^[0-9]+$/ {print $5; exit}')"
                 " && sudo -n coredumpctl --no-pager dump \"$pid\" "
                 "COREDUMP_EXE=/opt/checkout/bin/checkout-api > /tmp/evidence.core"
                 " && sha256sum /tmp/evidence.core /opt/checkout/bin/checkout-api")
    assert dumped.returncode == 0, dumped.stderr
    remote = {Path(path).name: digest for digest, path in
              (line.split() for line in dumped.stdout.splitlines())}
    batch = tmp_path / "batch"
    batch.write_text(f"get /tmp/evidence.core {tmp_path}/core\n"
                     f"get /opt/checkout/bin/checkout-api {tmp_path}/checkout-api\n")
    argv = ["sftp", "-b", str(batch)] + [
        a for a in lab_host.ssh_argv()[1:] if a not in ("-p", str(lab_host.port))
    ]
    fetched = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert fetched.returncode == 0, fetched.stderr
    local = subprocess.run(["sha256sum", "core", "checkout-api"], cwd=tmp_path,
                           capture_output=True, text=True, check=True).stdout
    assert {name: digest for digest, name in (line.split() for line in local.splitlines())} == {
        "core": remote["evidence.core"], "checkout-api": remote["checkout-api"]}


def test_healthy_host_serves_without_crashing(lab_host_factory: HostFactory) -> None:
    host = lab_host_factory("lab-healthy", crashing=False)
    try:
        deadline = time.monotonic() + 30
        journal = ""
        while time.monotonic() < deadline and "status=200" not in journal:
            time.sleep(0.3)
            journal = host.run(["journalctl", "-u", "checkout-api.service", "--no-pager"]).stdout
        assert "feature_flags=pricing_v4:off" in journal
        assert "status=200" in journal
        assert "code=dumped" not in journal
        state = host.run(["systemctl", "is-active", "checkout-api.service"]).stdout.strip()
        assert state == "active"
        with pytest.raises(TimeoutError, match="0 of 1 checkout-api cores"):
            host.wait_for_crashes(1, timeout=1)
    finally:
        host.stop()


def test_hosts_are_separate_machines(lab_host: LabHost, lab_host_factory: HostFactory) -> None:
    other = lab_host_factory("lab-other")
    try:
        assert other.address != lab_host.address
        assert other.host_key_line.split()[2] != lab_host.host_key_line.split()[2]
        ids = {h.run(["cat", "/etc/machine-id"]).stdout for h in (lab_host, other)}
        assert len(ids) == 2
        # Each is its own machine: its own systemd as PID 1 in its own PID namespace and cgroup.
        for host in (lab_host, other):
            assert host.run(["cat", "/proc/1/comm"]).stdout == "systemd\n"
        namespaces = {h.run(["readlink", "/proc/1/ns/pid"]).stdout for h in (lab_host, other)}
        assert len(namespaces) == 2
        assert set(lab_host.cgroup_paths).isdisjoint(other.cgroup_paths)
        # Another host's key is refused, and nothing runs.
        wrong = ssh(other, "touch /tmp/ran", known_hosts=lab_host.known_hosts)
        assert wrong.returncode == 255
        assert "Host key verification failed" in wrong.stderr
        assert other.run(["test", "-e", "/tmp/ran"]).returncode == 1
    finally:
        other.stop()


def test_killed_host_is_gone_and_leaves_nothing(lab_host_factory: HostFactory) -> None:
    host = lab_host_factory("lab-doomed")
    assert ssh(host, "true").returncode == 0
    held = subprocess.Popen(host.ssh_argv("sleep 60"), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    time.sleep(1)
    host.kill()
    assert held.wait(timeout=30) != 0
    assert not host.running
    assert not os.path.ismount(host.directory / "root")
    assert not host.network.netns_path.exists()
    assert not any(p.exists() for p in host.cgroup_paths)
    with pytest.raises(OSError, match="No route to host"):  # never the machine's default route
        socket.create_connection((host.address, 22), timeout=1).close()
    with pytest.raises(LabError):
        host.run(["true"])


def test_power_loss_leaves_peers_in_silence(lab_host_factory: HostFactory) -> None:
    host = lab_host_factory("lab-blackout")
    held = subprocess.Popen(
        [*host.ssh_argv()[:-1], "-o", "ServerAliveInterval=1", "-o", "ServerAliveCountMax=8",
         f"{host.user}@{host.address}", "sleep 61"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    # The session must be up before the power goes (a busy CI machine may take a while).
    deadline = time.monotonic() + 30
    while host.run(["pgrep", "-x", "-f", "sleep 61"]).returncode != 0:
        assert time.monotonic() < deadline, "the held session never started"
        time.sleep(0.1)
    host.kill(drop_network=True)
    time.sleep(0.5)
    assert held.poll() is None  # no reset, no EOF: the peer only hears silence (for 8 s)
    # Not refused, not answered by anything else. (Asked now: once the neighbour entry has
    # failed, seconds later, the kernel says "No route to host" as for a real dead peer.)
    with pytest.raises(TimeoutError):
        socket.create_connection((host.address, 22), timeout=1).close()
    _, stderr = held.communicate(timeout=30)
    assert held.returncode == 255
    assert "Timeout" in stderr
    assert host.network.netns_path.exists()
    host.release_network()
    assert not host.network.netns_path.exists()
    with pytest.raises(OSError, match="No route to host"):
        socket.create_connection((host.address, 22), timeout=1).close()


def test_eight_hosts_at_once(lab_host_factory: HostFactory) -> None:
    names = [f"lab-fleet-{i}" for i in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        hosts = list(pool.map(lab_host_factory, names))
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(lambda h: ssh(h, "hostname"), hosts))
        assert [r.stdout.strip() for r in results] == names
        assert len({h.leader_pid() for h in hosts}) == 8
    finally:
        for host in hosts:
            host.kill()


def test_machine_core_pattern_untouched(lab_host_factory: HostFactory, lab_host: LabHost) -> None:
    assert lab_host.run(["true"]).returncode == 0
    assert lab_host_factory.core_pattern_changed() is None
