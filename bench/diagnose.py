"""Benchmark: `segbot diagnose` vs plain OpenSSH with a ControlMaster, on lab hosts (as root).

    sudo .venv/bin/python bench/diagnose.py [--runs N]

Same host, same run, same commands: the playbook's rendered commands, each wrapped exactly as
segbot wraps it (`timeout -k ... sh -c ...`, `sudo -n` where the step says so), and the same two
files copied off (the core and the binary, with sftp over the master). segbot's time includes
opening its connection, the copies, decoding and symbolizing; the OpenSSH baseline is timed
with its master already open (warm: its best case) and with the master's set-up (cold).
Then 1 host vs 8 hosts diagnosed in parallel.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.adapters.ssh import SshRunner  # noqa: E402
from bot.app.diagnose import HostDiagnosis, Inventory, Limits, diagnose_fleet  # noqa: E402
from bot.config import Target, load_playbook_file  # noqa: E402
from bot.domain.playbook import Playbook  # noqa: E402
from tests.lab import cgroups, factory, rootfs  # noqa: E402
from tests.lab.host import LabHost  # noqa: E402

BINARY, UNIT = "/opt/checkout/bin/checkout-api", "checkout-api.service"


def _target(host: LabHost) -> Target:
    return Target(
        name=host.name,
        address=host.address,
        port=host.port,
        user=host.user,
        identity_file=host.identity_file,
        known_hosts=host.known_hosts,
        sudo=True,
    )


def _inventory(host: LabHost) -> Inventory:
    return Inventory(
        host=host.name, service="checkout-api", unit=UNIT, binary=BINARY, user=host.user
    )


def segbot(
    hosts: list[LabHost], book: Playbook, evidence: Path
) -> tuple[float, float, list[HostDiagnosis]]:
    """(wall seconds, seconds until the last step ended, diagnoses); connections included."""
    last = [0.0]
    lock = threading.Lock()

    def progress(host: str, step: str, status: str) -> None:
        with lock:
            last[0] = time.monotonic()

    by_name = {h.name: h for h in hosts}

    def connect(name: str) -> SshRunner:
        runner = SshRunner(_target(by_name[name]))
        runner.connect()
        return runner

    start = time.monotonic()
    diagnoses = diagnose_fleet(
        connect=connect,
        playbook=book,
        inventories=[_inventory(h) for h in hosts],
        evidence_dir=evidence,
        now=datetime.now(UTC),
        limits=Limits(),
        progress=progress,
    )
    return time.monotonic() - start, last[0] - start, diagnoses


class OpenSsh:
    """One host through plain `ssh` with a ControlMaster (the engineer's best tooling)."""

    def __init__(self, host: LabHost, directory: Path) -> None:
        self.host = host
        self.control = directory / f"cm-{host.name}"
        self.options = ["-o", f"ControlPath={self.control}"]

    def argv(self, *command: str) -> list[str]:
        base = self.host.ssh_argv(*command)
        return [base[0], *self.options, *base[1:]]

    def open_master(self) -> None:
        master = self.host.ssh_argv()
        subprocess.run(
            [
                master[0],
                *self.options,
                "-o",
                "ControlMaster=yes",
                "-o",
                "ControlPersist=300",
                "-fN",
                *master[1:],
            ],
            check=True,
        )

    def close_master(self) -> None:
        base = self.host.ssh_argv()
        subprocess.run(
            [base[0], *self.options, "-O", "exit", *base[1:]], capture_output=True, check=False
        )

    def run(self, command: tuple[str, int | None]) -> None:
        wrapped, expected = command
        done = subprocess.run(self.argv(wrapped), capture_output=True, check=False)
        if done.returncode != expected:  # the same command must end as it did for segbot
            raise RuntimeError(
                f"baseline: exit {done.returncode}, segbot saw {expected}: {wrapped}"
            )

    def fetch(self, remotes: list[str], directory: Path) -> None:
        batch = directory / "batch"
        batch.write_text("".join(f"get {r} {directory}/\n" for r in remotes))
        base = self.host.ssh_argv()
        options = [o for o in base[1:-1]]  # everything between "ssh" and user@host
        options = [("-P" if o == "-p" else o) for o in options]
        subprocess.run(
            ["sftp", "-q", *self.options, *options, "-b", str(batch), base[-1]],
            capture_output=True,
            check=True,
        )
        for remote in remotes:
            copy = directory / Path(remote).name
            if not copy.stat().st_size:
                raise RuntimeError(f"baseline copy of {remote} is empty")
            copy.unlink()


def baseline(
    ssh: OpenSsh, diagnosis: HostDiagnosis, book: Playbook, directory: Path, *, parallel: bool
) -> float:
    """The same commands as segbot ran, over the (open) master; sequential or 8 at a time."""
    wrap = SshRunner(_target(ssh.host)).wrap
    commands = [
        (o.step, (wrap(str(o.command), book.step(o.step).timeout), o.exit_status))
        for o in diagnosis.steps
        if o.command and book.step(o.step).fetch is None
    ]
    remotes = [
        str(o.command).removeprefix("sftp get ") for o in diagnosis.steps if o.artifact is not None
    ]
    start = time.monotonic()
    if not parallel:
        for _, wrapped in commands:
            ssh.run(wrapped)
        ssh.fetch(remotes, directory)
    else:  # the evidence chain in order, everything else 8 at a time, then the copies
        chain = [w for step, w in commands if step in ("cores", "dump_core")]
        rest = [w for step, w in commands if step not in ("cores", "dump_core")]
        for wrapped in chain:
            ssh.run(wrapped)
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(ssh.run, rest))
            pool.submit(ssh.fetch, remotes, directory).result()
    return time.monotonic() - start


def _host_cpu(host: LabHost) -> float:
    """CPU seconds a lab host has used so far (systemd, sshd, sudo, the commands), or NaN."""
    for path in host.cgroup_paths:
        try:
            stat = (path / "cpu.stat").read_text()
        except OSError:
            continue  # a v1 hierarchy: no cpu.stat
        usage = next((line.split()[1] for line in stat.splitlines()
                      if line.startswith("usage_usec ")), None)
        if usage is not None:
            return int(usage) / 1e6
    return float("nan")


def _cpu_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    reason = factory.machine_ready()
    if reason:
        raise SystemExit(reason)
    factory.sweep()
    session = factory.new_session()
    root = rootfs.prepare(session, core_pattern=Path("/proc/sys/kernel/core_pattern").read_text())
    made = factory.HostFactory(root, session)
    book = load_playbook_file()
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            hosts = list(pool.map(lambda i: made(f"bench-diag-{i}"), range(8)))
        for host in hosts:  # measured on quiet hosts: eight crash loops would share the CPUs
            host.wait_for_crash_loop_end()
        with tempfile.TemporaryDirectory() as scratch:
            work = Path(scratch)
            one = hosts[:1]
            segbot(one, book, work / "warm")  # warm-up: imports, caches
            ssh = OpenSsh(hosts[0], work)
            start = time.monotonic()
            ssh.open_master()
            master = time.monotonic() - start
            walls, remotes, seqs, pars = [], [], [], []
            host_cpu = own_cpu = 0.0
            try:  # interleaved, so that the shared machine's load hits both alike
                for i in range(args.runs):
                    lab0, own0 = _host_cpu(hosts[0]), time.process_time()
                    wall_i, remote_i, diagnoses = segbot(one, book, work / f"one-{i}")
                    host_cpu += _host_cpu(hosts[0]) - lab0
                    own_cpu += time.process_time() - own0
                    walls.append(wall_i)
                    remotes.append(remote_i)
                    diagnosis = diagnoses[0]
                    seqs.append(baseline(ssh, diagnosis, book, work, parallel=False))
                    pars.append(baseline(ssh, diagnosis, book, work, parallel=True))
            finally:
                ssh.close_master()
            wall, remote = statistics.median(walls), statistics.median(remotes)
            seq, par = statistics.median(seqs), statistics.median(pars)
            failed = [o.step for o in diagnosis.steps if o.status != "ok"]
            print(
                f"playbook: {len(book.steps)} steps; not ok on the bench host: {failed or 'none'}"
            )
            print(
                f"segbot, 1 host (connect + {len(book.steps)} steps + copies + decode): "
                f"{wall:.3f} s median of {args.runs} (steps done at {remote:.3f} s)"
            )
            print(
                f"OpenSSH ControlMaster, same commands, sequential: {seq:.3f} s warm, "
                f"{seq + master:.3f} s with the master's set-up ({master:.3f} s)"
            )
            print(
                f"OpenSSH ControlMaster, same commands, 8 at a time: {par:.3f} s warm, "
                f"{par + master:.3f} s cold"
            )
            print(
                f"ratio segbot / OpenSSH 8 at a time: {wall / par:.2f} (warm master), "
                f"{wall / (par + master):.2f} (cold); segbot / OpenSSH sequential: "
                f"{wall / seq:.2f} (warm), {wall / (seq + master):.2f} (cold)"
            )
            host_cpu, own_cpu = host_cpu / args.runs, own_cpu / args.runs
            cores = os.cpu_count() or 1
            floor = 8 * (host_cpu + own_cpu) / cores
            print(
                f"CPU of one host's diagnosis: {host_cpu:.3f} s on the lab host (sshd, sudo, the "
                f"commands) + {own_cpu:.3f} s in segbot; 8 such hosts sharing this machine's "
                f"{cores} cores need at least {floor:.3f} s = {floor / wall:.2f}x one host's wall "
                f"time, whatever runs them"
            )
            busy0, total0 = _cpu_jiffies()
            cpu0 = time.process_time()
            eight, fleets = [], []
            for i in range(args.runs):
                seconds, _, diagnoses = segbot(hosts, book, work / f"eight-{i}")
                eight.append(seconds)
                fleets.append(diagnoses)
            busy1, total1 = _cpu_jiffies()
            eight_wall = statistics.median(eight)
            troubles = sorted({f"{d.host}/{o.step}: {o.status} {o.reason}" for fleet in fleets
                               for d in fleet for o in d.steps if o.status != "ok"})
            if troubles:
                print("  not ok in the 8-host runs: " + "; ".join(troubles))
            print(
                f"segbot, 8 hosts in parallel: {eight_wall:.3f} s median of {args.runs}; "
                f"ratio 8 hosts / 1 host: {eight_wall / wall:.2f}"
            )
            print(
                f"  during the 8-host runs the machine's CPUs were "
                f"{100 * (busy1 - busy0) / max(1, total1 - total0):.0f}% busy "
                f"(the lab's hosts share them); segbot itself used "
                f"{(time.process_time() - cpu0) / args.runs:.2f} CPU s per 8-host run"
            )
            sshs = [OpenSsh(h, work) for h in hosts]
            for each in sshs:
                (work / each.host.name).mkdir(exist_ok=True)
                each.open_master()

            def everyone(diagnoses: list[HostDiagnosis]) -> float:
                """The same commands on the same 8 hosts: each host's 8 at a time, all at once."""
                start = time.monotonic()
                with ThreadPoolExecutor(max_workers=8) as pool:
                    list(pool.map(
                        lambda pair: baseline(pair[0], pair[1], book, work / pair[0].host.name,
                                              parallel=True),
                        zip(sshs, diagnoses, strict=True)))
                return time.monotonic() - start

            try:
                ssh_eight = statistics.median(everyone(d) for d in fleets)
            finally:
                for each in sshs:
                    each.close_master()
            print(
                f"OpenSSH ControlMaster, 8 hosts at once (warm masters): {ssh_eight:.3f} s; "
                f"its ratio 8 hosts / 1 host: {ssh_eight / par:.2f}; "
                f"segbot / OpenSSH at 8 hosts: {eight_wall / ssh_eight:.2f}"
            )
    finally:
        made.close()
        cgroups.remove_lab_root()


if __name__ == "__main__":
    main()
