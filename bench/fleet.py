"""Benchmark: `segbot diagnose SERVICE` over 1, 10, 100 and 500 simulated hosts (tests/fleet).

    .venv/bin/python bench/fleet.py [--sizes 1,10,100,500] [--fault-hosts 500]

The simulated fleet runs in one child process, segbot (the real CLI, its SSH adapter, the
fan-out) in another, so segbot's own CPU (handshakes included) and peak memory are measured
apart from the simulator's. Wall time is compared with the ideal, ceil(hosts / max_hosts) x
one host's time (the 1-host run's, in the same invocation), and with a stricter one that counts
the command's fixed part (config, playbook, output) once. Then with 5% of hosts hanging and 5%
refusing: every other host's own time, from its first step to its last, against its deadline
and against a quiet run. Past one wave of hosts segbot diagnoses on one process per core
(bot/wiring/fan_out.py): CPU and peak memory count them all.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import pickle
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SERVICE = "checkout-api"


@dataclass(frozen=True)
class Measured:
    hosts: int
    wall: float  # the diagnose command itself (imports excluded)
    cpu: float  # segbot's user + system CPU during the command, every thread
    peak_rss_mb: float
    base_rss_mb: float  # after imports, before the command
    results_bytes: int  # the diagnoses segbot holds, pickled
    results_held: int  # the same diagnoses, as objects in memory
    own: dict[str, float]  # host -> seconds from its first step's start to its last step's end
    slot: dict[str, float]  # host -> seconds from its connect to its decoded report (this
    # process's hosts only: the 1-host run's sets the strict ideal)
    processes: int  # segbot's processes in the fan-out
    errors: dict[str, str]
    sim_cpu: float  # the simulator's CPU while serving (all hosts), for comparison


def _segbot_child(config: str, result: str) -> None:
    """Runs in the segbot process: the CLI, timed, with each host's first and last step noted."""
    sys.path.insert(0, str(ROOT))
    import rich.live  # noqa: F401 - imported here so that the timed command excludes imports

    import bot.adapters.ssh
    import bot.app.diagnose as diagnose
    import bot.app.fleet  # noqa: F401
    import bot.commands.diagnose as command
    import bot.wiring.fan_out as fan_out
    from bot.cli import main

    starts: dict[str, float] = {}
    ends: dict[str, float] = {}
    decoded: dict[str, float] = {}
    connects: dict[str, float] = {}
    fan_out_all, one_host, connect_one = (
        fan_out.diagnose_service_hosts, diagnose.diagnose_host, diagnose.connect_and_diagnose)
    shown = command._Progress.__call__

    def progress_timed(self: Any, host: str, step: str, status: str) -> None:
        now = time.monotonic()
        starts.setdefault(host, now)
        ends[host] = now
        shown(self, host, step, status)

    # In this process only (not in the fan-out's other processes): a host's connect and its
    # decoded report, for the 1-host run that sets the strict ideal.
    def connect_timed(inventory: Any, **kwargs: Any) -> Any:
        connects[inventory.host] = time.monotonic()
        return connect_one(inventory, **kwargs)

    def host_timed(**kwargs: Any) -> Any:
        found = one_host(**kwargs)
        decoded[found.host] = time.monotonic()
        return found

    def timed(*args: Any, **kwargs: Any) -> Any:
        processes.append(fan_out.processes_for(len(kwargs["inventories"]), kwargs["limits"]))
        found = fan_out_all(*args, **kwargs)
        results.extend(found)
        return found

    results: list[Any] = []
    processes: list[int] = []
    command._Progress.__call__ = progress_timed  # type: ignore[method-assign]
    diagnose.connect_and_diagnose = connect_timed
    diagnose.diagnose_host = host_timed
    fan_out.diagnose_service_hosts = timed
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    with contextlib.suppress(SystemExit):  # exit status 1: some hosts failed, as planned
        main(["diagnose", "--config", config, SERVICE])
    wall, after = time.monotonic() - start, resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # the fan-out's other processes
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    cpu += children.ru_utime + children.ru_stime
    Path(result).write_text(json.dumps({
        "wall": wall, "cpu": cpu, "peak": (after.ru_maxrss + children.ru_maxrss) / 1024,
        "base": before.ru_maxrss / 1024, "processes": processes[0] if processes else 0,
        "own": {h: ends[h] - starts[h] for h in starts},
        "slot": {h: decoded[h] - connects[h] for h in connects if h in decoded},
        "errors": {d.host: d.error for d in results if d.error},
        "results_bytes": len(pickle.dumps(results)), "results_held": _held(results)}))


def _held(root: object) -> int:
    """Bytes of the objects reachable from root (each counted once): the results in memory."""
    seen: set[int] = set()
    stack, total = [root], 0
    while stack:
        item = stack.pop()
        if id(item) in seen or isinstance(item, type):
            continue
        seen.add(id(item))
        total += sys.getsizeof(item)
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)
        elif hasattr(item, "__dict__"):
            stack.append(vars(item))
        elif hasattr(item, "__slots__"):
            stack.extend(getattr(item, name) for name in item.__slots__ if hasattr(item, name))
    return total


def _measure(hosts: int, work: Path, *, hang: float = 0.0, refuse: float = 0.0,
             latency: float, command_latency: str) -> Measured:
    sim = subprocess.Popen(
        [sys.executable, "-m", "tests.fleet.serve", str(work), "--hosts", str(hosts),
         "--connect-latency", str(latency), "--command-latency", command_latency,
         "--hang", str(hang), "--refuse", str(refuse), "--healthy", "0.2",
         "--versions", "2.18.7,2.18.7,2.19.0"],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert sim.stdout is not None and sim.stdout.readline().strip() == "ready"
        result, output = work / "result.json", work / "out.txt"
        with open(output, "w") as sink:
            child = subprocess.Popen(
                [sys.executable, __file__, "--segbot-child", str(work / "segbot.yaml"),
                 str(result)], cwd=ROOT, stdout=sink, stderr=subprocess.DEVNULL)
            child.wait()
    finally:
        assert sim.stdin is not None and sim.stdout is not None
        sim.stdin.close()
        # Its CPU while serving (since `ready`): imports and listening sockets are not per host.
        sim_cpu = float([*sim.stdout.readline().split(), "nan", "nan"][1])
        sim.wait(timeout=60)
    data = json.loads(result.read_text())
    return Measured(hosts=hosts, wall=data["wall"], cpu=data["cpu"], peak_rss_mb=data["peak"],
                    base_rss_mb=data["base"], results_bytes=data["results_bytes"],
                    results_held=data["results_held"], own=data["own"], slot=data["slot"],
                    errors=data["errors"], sim_cpu=sim_cpu, processes=data["processes"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1,10,100,500")
    parser.add_argument("--fault-hosts", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.1,
                        help="simulated seconds per connection (network and handshake)")
    parser.add_argument("--command-latency", default="recorded",
                        help="seconds per command, or 'recorded': as long as the lab host took")
    parser.add_argument("--segbot-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.segbot_child:
        _segbot_child(*args.segbot_child)
        return
    sys.path.insert(0, str(ROOT))
    from bot.config import Defaults

    max_hosts = Defaults().max_hosts
    print(f"simulated latency {args.latency:g}s per connection, {args.command_latency} per "
          "command; "
          f"max_hosts {max_hosts}; {os.cpu_count()} CPUs")
    print(f"{'hosts':>6} {'wall s':>8} {'ideal s':>8} {'ratio':>6} {'strict':>6} "
          f"{'CPU ms/host':>12} {'sim CPU':>8} {'peak MB':>8} {'MB over base':>12} "
          f"{'results KB/host':>15} {'procs':>5} {'load':>5}")
    print("(wall: the command, imports excluded; CPU: segbot's processes, every thread; ideal: "
          "ceil(hosts / max_hosts) x the 1-host run's wall; strict: its fixed part once plus "
          "ceil(hosts / max_hosts) x that host's own connect-to-decoded time; load: 1-min "
          "load average after the run)")
    runs: list[Measured] = []
    one_host = fixed = slot = 0.0
    for hosts in (int(n) for n in args.sizes.split(",")):
        tries = []
        for _ in range(3 if hosts == 1 else 1):  # one host's time sets the ideal: its median
            work = Path(tempfile.mkdtemp(prefix=f"segbot-fleet-{hosts}-"))
            try:
                tries.append(_measure(hosts, work, latency=args.latency,
                                      command_latency=args.command_latency))
            finally:
                shutil.rmtree(work, ignore_errors=True)
        run = sorted(tries, key=lambda m: m.wall)[len(tries) // 2]
        runs.append(run)
        if not one_host:
            one_host = run.wall
            slot = max(run.slot.values(), default=run.wall)
            fixed = max(0.0, run.wall - slot)
        waves = math.ceil(hosts / max_hosts)
        ideal, strict = waves * one_host, fixed + waves * slot
        print(f"{hosts:>6} {run.wall:>8.2f} {ideal:>8.2f} {run.wall / ideal:>6.2f} "
              f"{run.wall / strict:>6.2f} {1000 * run.cpu / hosts:>12.1f} "
              f"{1000 * run.sim_cpu / hosts:>8.1f} {run.peak_rss_mb:>8.1f} "
              f"{run.peak_rss_mb - run.base_rss_mb:>12.1f} "
              f"{run.results_bytes / hosts / 1024:>15.1f} {run.processes:>5} "
              f"{os.getloadavg()[0]:>5.1f}", flush=True)
        if run.errors:
            print(f"       unexpected errors: {dict(list(run.errors.items())[:3])}")
    if len(runs) >= 2:
        a, b = runs[-2], runs[-1]
        per_host_mb = (b.peak_rss_mb - a.peak_rss_mb) / (b.hosts - a.hosts)
        held = (b.results_held - a.results_held) / (b.hosts - a.hosts) / 1024
        print(f"growth {a.hosts}->{b.hosts} hosts: peak RSS {1024 * per_host_mb:.0f} KB/host; "
              f"results held {held:.0f} KB/host in memory "
              f"({(b.results_bytes - a.results_bytes) / (b.hosts - a.hosts) / 1024:.0f} "
              f"KB/host pickled); beyond the results {1024 * per_host_mb - held:.0f} KB/host; "
              f"CPU/host {1000 * a.cpu / a.hosts:.1f} -> {1000 * b.cpu / b.hosts:.1f} ms")
    if args.fault_hosts:
        _faults(args.fault_hosts, args.latency, args.command_latency, runs)


def _faults(hosts: int, latency: float, command_latency: str, runs: list[Measured]) -> None:
    from bot.config import Defaults

    d = Defaults()
    work = Path(tempfile.mkdtemp(prefix="segbot-fleet-faults-"))
    try:
        run = _measure(hosts, work, hang=0.05, refuse=0.05, latency=latency,
                       command_latency=command_latency)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    bad = set(run.errors)
    good = [t for h, t in run.own.items() if h not in bad]
    quiet = next((r for r in runs if r.hosts == hosts), None)
    quiet_own = sorted(quiet.own.values()) if quiet else []
    kinds: dict[str, int] = {}
    for error in run.errors.values():
        kind = "timed out" if "timed out" in error else (
            "refused" if "refused" in error else error.split(": ", 1)[-1][:40])
        kinds[kind] = kinds.get(kind, 0) + 1
    deadline = d.connect_timeout + d.run_timeout
    print(f"with 5% hanging and 5% refusing ({hosts} hosts): wall {run.wall:.2f}s; "
          f"failed hosts {kinds}")
    print(f"  the other {len(good)} hosts' own time (first step to last): median "
          f"{statistics.median(good):.2f}s, max {max(good):.2f}s (deadline "
          f"{deadline:g}s; quiet run: median "
          f"{statistics.median(quiet_own) if quiet_own else float('nan'):.2f}s, max "
          f"{max(quiet_own) if quiet_own else float('nan'):.2f}s)")


if __name__ == "__main__":
    main()
