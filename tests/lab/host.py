"""A running lab host: a systemd-nspawn container in its own network namespace and cgroup."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import cgroups, netns
from .commands import LabError, sh_quiet

CONTAINER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass
class LabHost:
    """One booted host. Reach it over SSH with the attributes, or run commands with run()."""

    name: str
    address: str
    identity_file: Path
    known_hosts: Path
    host_key_line: str
    directory: Path
    network: netns.HostNetwork
    cgroup_paths: list[Path]
    launcher: subprocess.Popen[bytes]
    port: int = 22
    user: str = "segbot"
    # CLOCK_MONOTONIC when the host was launched: roughly the kernel log's [seconds] clock, so
    # `dmesg` lines older than this are not this host's (the kernel log is machine-wide).
    booted_monotonic: float = 0.0
    _leader: int | None = field(default=None, repr=False)
    _gone: bool = field(default=False, repr=False)

    # -- commands inside the host ---------------------------------------------------------

    def leader_pid(self) -> int:
        """The container's PID 1 as the CI machine sees it."""
        if self._leader is not None and Path(f"/proc/{self._leader}").exists():
            return self._leader
        for pid in sorted(cgroups.pids(self.cgroup_paths)):
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                fields = line.split()
                # NSpid: <pid here> ... <pid in its own namespace>; PID 1 of a nested namespace.
                if fields[:1] == ["NSpid:"] and len(fields) >= 3 and fields[-1] == "1":
                    self._leader = pid
                    return pid
        raise LabError(f"lab host {self.name}: no PID 1 found (is it running?)")

    def run(
        self,
        argv: Sequence[str],
        *,
        input: str | None = None,
        timeout: float = 60.0,
        check: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        """Run argv as root inside the host (its namespaces and root), without SSH.

        The host's own `timeout` ends the command at the deadline (exit status 124), so nothing
        is left running inside; TimeoutExpired only if even that does not return."""
        command = [
            "nsenter", "-t", str(self.leader_pid()), "-a",
            "env", "-i", f"PATH={CONTAINER_PATH}", "LANG=C.UTF-8", "SYSTEMD_PAGER=", "TERM=dumb",
            "timeout", "-k", "2", f"{timeout:g}", *argv,
        ]
        return subprocess.run(
            command, input=input, capture_output=True, text=True, timeout=timeout + 10,
            check=check,
        )

    def wait_for_crashes(self, n: int, timeout: float = 30.0) -> int:
        """Wait until coredumpctl inside lists at least n checkout-api cores; return the count."""
        deadline = time.monotonic() + timeout
        count = 0
        while True:
            listed = self.run(["coredumpctl", "list", "--no-legend", "--no-pager",
                               "checkout-api"], timeout=30)
            count = len([line for line in listed.stdout.splitlines() if line.strip()])
            if count >= n:
                return count
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"lab host {self.name}: {count} of {n} checkout-api cores after {timeout}s"
                )
            time.sleep(0.25)

    def wait_for_crash_loop_end(self, timeout: float = 60.0) -> int:
        """Wait until the crash loop is over (the unit hit its start limit) and its last core
        is stored; return the number of cores. Benchmarks measure a quiet host this way."""
        deadline = time.monotonic() + timeout
        last = -1
        while time.monotonic() < deadline:
            state = self.run(["systemctl", "show", "-P", "ActiveState", "checkout-api"]).stdout
            count = self.wait_for_crashes(1, timeout=max(1.0, deadline - time.monotonic()))
            if state.strip() == "failed" and count == last:
                return count
            last = count if state.strip() == "failed" else -1
            time.sleep(1.0)
        raise TimeoutError(f"lab host {self.name}: crash loop still running after {timeout}s")

    # -- what a client needs ----------------------------------------------------------------

    def ssh_argv(self, *command: str) -> list[str]:
        """OpenSSH reaching this host with the pinned key and the session identity."""
        return [
            "ssh", "-i", str(self.identity_file), "-p", str(self.port),
            "-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "StrictHostKeyChecking=yes",
            "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
            f"{self.user}@{self.address}", *command,
        ]

    def ssh_config_entry(self) -> dict[str, str | int]:
        return {
            "address": self.address,
            "port": self.port,
            "user": self.user,
            "identity_file": str(self.identity_file),
            "known_hosts": str(self.known_hosts),
        }

    # -- power --------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return not self._gone and self.launcher.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        """Orderly shutdown: nspawn turns SIGTERM into a poweroff of the container."""
        if self._gone:
            return
        if self.launcher.poll() is None:
            with contextlib.suppress(OSError):
                self.launcher.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.launcher.wait(timeout=timeout)
        self._teardown()

    def kill(self, *, drop_network: bool = False) -> None:
        """Hard power-off: every process of the host dies at once.

        drop_network=True takes the link down first, so peers see silence rather than resets."""
        if self._gone:
            return
        if drop_network:
            netns.link_down(self.network)
        cgroups.kill_all(self.cgroup_paths)
        with contextlib.suppress(OSError):
            self.launcher.kill()
        self._teardown(keep_network=drop_network)

    def _teardown(self, *, keep_network: bool = False) -> None:
        cgroups.kill_all(self.cgroup_paths)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.launcher.wait(timeout=10)
        root = self.directory / "root"
        for _ in range(50):
            if not os.path.ismount(root) or sh_quiet(["umount", str(root)]):
                break
            time.sleep(0.1)
        else:
            sh_quiet(["umount", "--lazy", str(root)])
        left = cgroups.remove(self.cgroup_paths)
        if not keep_network:
            netns.release(self.network)
        self._gone = True
        if left:
            raise LabError(f"lab host {self.name}: cgroups left behind: {left}")

    def release_network(self) -> None:
        """Final cleanup of a host killed with drop_network=True."""
        netns.release(self.network)
