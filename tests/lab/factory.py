"""Booting lab hosts: overlay root, identity, network namespace, cgroup, systemd-nspawn, sshd.

Also the session's bookkeeping: every host is cleaned up at the end, and whatever a killed
earlier session left behind (mounts, namespaces, cgroups) is swept before the first boot."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

from . import cgroups, netns
from .commands import LabError, sh, sh_quiet
from .host import LabHost
from .rootfs import WORKDIR, LabRoot

NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
CORE_PATTERN = Path("/proc/sys/kernel/core_pattern")


class HostFactory:
    """make_host(name, crashing=True) boots a host; close() removes every trace of them."""

    def __init__(self, lab_root: LabRoot, session: Path) -> None:
        self.lab_root = lab_root
        self.session = session
        self.core_pattern = CORE_PATTERN.read_text()
        self.hosts: list[LabHost] = []
        self._lock = threading.Lock()
        self._numbers: set[int] = set()

    def __call__(self, name: str, *, crashing: bool = True, boot_timeout: float = 60.0) -> LabHost:
        return self.make_host(name, crashing=crashing, boot_timeout=boot_timeout)

    def make_host(self, name: str, *, crashing: bool = True, boot_timeout: float = 60.0) -> LabHost:
        if not NAME.match(name):
            raise ValueError(f"lab host name {name!r}: use [a-z][a-z0-9-]*, at most 40 chars")
        directory = self.session / "hosts" / name
        with self._lock:
            if directory.exists():
                raise ValueError(f"lab host {name!r} already exists in this session")
            directory.mkdir(parents=True)
            network = netns.allocate(self._numbers)
            self._numbers.add(network.n)
        paths = cgroups.create(f"{name}-{network.n}")
        state = {"netns": network.netns, "link": network.outside_link,
                 "cgroups": [str(p) for p in paths], "root": str(directory / "root")}
        (directory / "state.json").write_text(json.dumps(state))
        key_line = _identity(directory / "upper", name=name, crashing=crashing,
                             address=network.address)
        known_hosts = directory / "known_hosts"
        known_hosts.write_text(key_line + "\n")
        root = directory / "root"
        for sub in ("work", "root"):
            (directory / sub).mkdir(exist_ok=True)
        sh(["mount", "-t", "overlay", "overlay", "-o",
            f"lowerdir={self.lab_root.path},upperdir={directory / 'upper'},"
            f"workdir={directory / 'work'}", str(root)])
        booted = time.monotonic()
        launcher = _launch(name, root=root, network=network, cgroup_paths=paths,
                           console=directory / "console.log")
        host = LabHost(
            name=name, address=network.address, identity_file=self.lab_root.identity_file,
            known_hosts=known_hosts, host_key_line=key_line, directory=directory,
            network=network, cgroup_paths=paths, launcher=launcher, booted_monotonic=booted,
        )
        with self._lock:
            self.hosts.append(host)
        try:
            _wait_for_sshd(host, timeout=boot_timeout)
        except LabError:
            host.kill()
            raise
        return host

    def close(self) -> None:
        """Power off every host, release its network, remove the session directory."""
        errors: list[str] = []
        for host in self.hosts:
            try:
                host.kill()
                host.release_network()
            except LabError as exc:
                errors.append(str(exc))
        sweep(only=self.session)
        for n in self._numbers:
            netns.unfence(n)
        if errors:
            raise LabError("; ".join(errors))

    def core_pattern_changed(self) -> str | None:
        """A message if the machine's kernel.core_pattern differs from the session's start."""
        now = CORE_PATTERN.read_text()
        if now != self.core_pattern:
            return (
                f"kernel.core_pattern changed during the session: {self.core_pattern!r} -> {now!r}"
            )
        return None


def _identity(upper: Path, *, name: str, crashing: bool, address: str) -> str:
    """Hostname, machine-id, ssh host key and service flags in the host's upper layer."""
    etc = upper / "etc"
    (etc / "ssh").mkdir(parents=True)
    (etc / "default").mkdir()
    (etc / "hostname").write_text(name + "\n")
    (etc / "hosts").write_text(f"127.0.0.1\tlocalhost\n127.0.1.1\t{name}\n"
                               f"{address}\t{name}\n::1\tlocalhost ip6-localhost ip6-loopback\n")
    (etc / "machine-id").write_text(uuid.uuid4().hex + "\n")
    key = etc / "ssh/ssh_host_ed25519_key"
    sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{name}", "-f", str(key)])
    flags = "pricing_v4:on" if crashing else "pricing_v4:off"
    (etc / "default/checkout-api").write_text(f"CHECKOUT_FEATURE_FLAGS={flags}\n")
    kind, blob = key.with_suffix(".pub").read_text().split()[:2]
    return f"{address} {kind} {blob}"


def _launch(name: str, *, root: Path, network: netns.HostNetwork, cgroup_paths: list[Path],
            console: Path) -> subprocess.Popen[bytes]:
    """Start systemd-nspawn from the host's own cgroup(s)."""
    nspawn = [
        "systemd-nspawn", "--boot", "--register=no", "--keep-unit", "--quiet",
        f"--directory={root}", f"--machine={name}",
        f"--network-namespace-path={network.netns_path}",
        "--capability=CAP_SYSLOG", "--console=passive", "--link-journal=no",
        "--resolv-conf=off", "--timezone=off",
    ]
    move = "".join(f"echo $$ > {shlex.quote(str(p / 'cgroup.procs'))} && " for p in cgroup_paths)
    with console.open("wb") as out:
        return subprocess.Popen(
            ["sh", "-c", move + 'exec "$@"', "sh", *nspawn],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_for_sshd(host: LabHost, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if host.launcher.poll() is not None:
            log = (host.directory / "console.log").read_text(errors="replace")[-2000:]
            raise LabError(f"lab host {host.name}: systemd-nspawn exited early:\n{log}")
        try:
            with socket.create_connection((host.address, host.port), timeout=1) as conn:
                conn.settimeout(2)
                if conn.recv(64).startswith(b"SSH-"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise LabError(f"lab host {host.name}: sshd not answering on {host.address} after {timeout}s")


def sweep(*, only: Path | None = None) -> None:
    """Remove what lab sessions left behind: only `only`, or every session whose pid is gone."""
    if not WORKDIR.exists():
        return
    for session in WORKDIR.glob("session-*"):
        if only is not None and session != only:
            continue
        if only is None and _alive(session):
            continue
        for state_file in session.glob("hosts/*/state.json"):
            state = json.loads(state_file.read_text())
            paths = [Path(p) for p in state["cgroups"]]
            cgroups.kill_all(paths)
            time.sleep(0.1)
            sh_quiet(["umount", state["root"]]) or sh_quiet(["umount", "--lazy", state["root"]])
            cgroups.remove(paths, timeout=5)
            sh_quiet(["ip", "link", "del", state["link"]])
            sh_quiet(["ip", "netns", "del", state["netns"]])
            netns.unfence(int(state["netns"].rsplit("-", 1)[1]))
        _remove_tree(session)


def _alive(session: Path) -> bool:
    try:
        pid = int(session.name.split("-")[1])
    except (IndexError, ValueError):
        return False
    return Path(f"/proc/{pid}").exists()


def _remove_tree(path: Path) -> None:
    # Never follow into a still-mounted host root.
    for state_file in path.glob("hosts/*/state.json"):
        root = json.loads(state_file.read_text())["root"]
        if os.path.ismount(root):
            raise LabError(f"{root} is still mounted; not removing {path}")
    shutil.rmtree(path, ignore_errors=True)


def new_session() -> Path:
    WORKDIR.mkdir(parents=True, exist_ok=True)
    session = WORKDIR / f"session-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    session.mkdir()
    return session


def machine_ready() -> str | None:
    """Why the lab cannot run on this machine, or None."""
    if os.geteuid() != 0:
        return "the lab needs root (systemd-nspawn, network namespaces, mounts)"
    for tool in ("systemd-nspawn", "ip", "nsenter", "ssh", "ssh-keygen", "gcc", "zstd"):
        if shutil.which(tool) is None:
            return f"the lab needs {tool} (run .ci/setup.d/30-lab.sh)"
    if not Path("/sys/fs/cgroup").exists():
        return "no cgroup file system"
    return None


__all__ = ["HostFactory", "machine_ready", "new_session", "sweep"]
