"""One cgroup per lab host, in both the name=systemd (v1) and the unified (v2) hierarchy.

systemd-nspawn --keep-unit runs the container in the cgroup its launcher is in; two hosts
launched from the same cgroup would share their services' cgroups. So each launcher first moves
itself into /sys/fs/cgroup/{systemd,unified}/segbot-lab/<host> (whichever hierarchies exist)."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
LAB_GROUP = "segbot-lab"


def hierarchies() -> list[Path]:
    """Mount points that hold systemd's cgroup tree on this machine (v1 name=systemd, v2)."""
    mounts = Path("/proc/self/mounts").read_text().splitlines()
    found: list[Path] = []
    for line in mounts:
        fields = line.split()
        if len(fields) < 4:
            continue
        where, fstype, options = Path(fields[1]), fields[2], fields[3].split(",")
        if fstype == "cgroup2" or (fstype == "cgroup" and "name=systemd" in options):
            found.append(where)
    return found


def create(host: str) -> list[Path]:
    """Create the host's cgroup in every hierarchy; return their directories."""
    made = []
    for root in hierarchies():
        path = root / LAB_GROUP / host
        path.mkdir(parents=True, exist_ok=True)
        made.append(path)
    return made


def _subtree(path: Path) -> list[Path]:
    """The cgroup and every cgroup below it, deepest first. systemd inside the host creates and
    removes service cgroups while we look (a crash loop restarts one every second), so a
    directory that vanishes mid-walk is skipped, not an error (os.walk ignores it; rglob raises)."""
    found = [Path(top) for top, _, _ in os.walk(path)]
    return sorted(found, key=lambda p: -len(p.parts))


def pids(paths: list[Path]) -> set[int]:
    """Every process in these cgroups and below."""
    found: set[int] = set()
    for path in paths:
        for directory in _subtree(path):
            with contextlib.suppress(OSError):
                found.update(int(p) for p in (directory / "cgroup.procs").read_text().split())
    return found


def kill_all(paths: list[Path]) -> None:
    """SIGKILL every process of the host at once (cgroup.kill on v2, else one by one)."""
    for path in paths:
        kill_file = path / "cgroup.kill"
        if kill_file.exists():
            with contextlib.suppress(OSError):
                kill_file.write_text("1")
    for pid in pids(paths):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def remove(paths: list[Path], *, timeout: float = 10.0) -> list[Path]:
    """Remove the host's cgroups, deepest first, once empty; return any that could not go."""
    deadline = time.monotonic() + timeout
    left: list[Path] = []
    for path in paths:
        for directory in _subtree(path):
            while True:
                try:
                    directory.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        left.append(directory)
                        break
                    time.sleep(0.05)
    return left


def remove_lab_root() -> None:
    """Remove the lab's parent cgroups once no session uses them (another may: then keep)."""
    for root in hierarchies():
        with contextlib.suppress(OSError):
            (root / LAB_GROUP).rmdir()
