"""Lab timings: session preparation and boot-to-SSH for 1 and 8 hosts (as root).

    sudo .venv/bin/python -m tests.lab.bench
"""

from __future__ import annotations

import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import cgroups, factory, rootfs
from .host import LabHost


def _boot_to_ssh(made: factory.HostFactory, name: str) -> tuple[LabHost, float]:
    start = time.monotonic()
    host = made(name)
    while subprocess.run(host.ssh_argv("true"), capture_output=True, check=False).returncode:
        if time.monotonic() - start > 60:
            raise TimeoutError(f"{name}: no ssh after 60 s")
        time.sleep(0.05)
    return host, time.monotonic() - start


def main() -> None:
    reason = factory.machine_ready()
    if reason:
        raise SystemExit(reason)
    factory.sweep()
    session = factory.new_session()
    start = time.monotonic()
    root = rootfs.prepare(session, core_pattern=Path("/proc/sys/kernel/core_pattern").read_text())
    print(f"prepare rootfs (unpack cached tarball + lab layer): {time.monotonic() - start:.2f} s")
    made = factory.HostFactory(root, session)
    try:
        host, seconds = _boot_to_ssh(made, "bench-one")
        print(f"1 host boot-to-ssh: {seconds:.2f} s")
        start = time.monotonic()
        host.wait_for_crashes(1, timeout=60)
        print(f"1 host first core in coredumpctl (after ssh): {time.monotonic() - start:.2f} s")
        host.kill()
        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(lambda i: _boot_to_ssh(made, f"bench-{i}"), range(8)))
        wall = time.monotonic() - start
        slowest = max(seconds for _, seconds in results)
        print(f"8 hosts boot-to-ssh in parallel: {wall:.2f} s wall (slowest host {slowest:.2f} s)")
        start = time.monotonic()
        for each, _ in results:
            each.kill()
        print(f"8 hosts kill + cleanup: {time.monotonic() - start:.2f} s")
    finally:
        made.close()
        cgroups.remove_lab_root()


if __name__ == "__main__":
    main()
