"""Benchmark: segbot's CPU per host outside SSH, decoding a host and summarizing a fan-out.

    .venv/bin/python bench/fleet_cpu.py [--hosts 500] [--baseline REV] [--instructions]

Decoding: one crashing host's recorded outputs (tests/fleet/recorded) decoded as a fan-out
decodes each host, ms of CPU per host. Summary: `segbot diagnose SERVICE`'s work after the
fan-out (drift leads, the printed summary and the table file) over 100 and --hosts hosts
built from the recordings (crashing and healthy, two versions, three AZs, unreachable hosts).
With --baseline, the same measurements of another revision (`git archive`d to a temporary
directory), run alternately in fresh processes so both see the same load; --instructions
also counts the instructions one decode executes (valgrind), whatever the load.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pickle
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _cpu_ms(work: Callable[[], object], *, rounds: int, per_round: int) -> float:
    """The least CPU one call took over `rounds` rounds (the least disturbed by other work)."""
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(per_round):
            work()
        best = min(best, (time.process_time() - start) / per_round)
    return best * 1000


def _child(root: Path, hosts: int, decodes: int) -> dict[str, Any]:
    """Runs in a fresh process with `root` first on the path: its code, its recordings."""
    sys.path.insert(0, str(root))
    from datetime import UTC, datetime

    from rich.console import Console

    from bot.app.diagnose import HostDiagnosis, Inventory, StepOutcome, _decode
    from bot.app.diagnose import diagnose_unreachable as unreachable
    from bot.app.fleet import drift_leads
    from bot.commands.diagnose import _print_summary
    from bot.config import load_playbook_file
    from bot.errors import ConnectFailed
    from tests.fleet.recording import fill, load_profile

    playbook = load_playbook_file(None)
    now = datetime(2026, 12, 3, 9, 3, tzinfo=UTC)

    def inventory(name: str, zone: str) -> Inventory:
        return Inventory(host=name, service="checkout-api", unit="checkout-api.service",
                         binary="/opt/checkout/bin/checkout-api", user="segbot", sudo=False,
                         core_dir="/var/tmp", zone=zone)

    def outcomes(profile: str, name: str, version: str) -> list[StepOutcome]:
        recorded = load_profile(profile)
        values = {"hostname": name, "core_path": f"/var/tmp/{name}.core", "version": version,
                  "build_id": recorded.build_id(version)}
        found = []
        for step in playbook.steps:
            answer = recorded.answers.get(step.id)
            if answer is None or step.fetch:
                found.append(StepOutcome(step=step.id, title=step.title, status="skipped"))
                continue
            found.append(StepOutcome(
                step=step.id, title=step.title, status="ok" if answer.exit_status == 0
                else "failed", command=step.template, output=fill(answer.stdout, values),
                exit_status=answer.exit_status))
        return found

    def host(i: int) -> tuple[HostDiagnosis, str]:
        name, zone = f"sim-{i:03d}", f"az-{i % 3 + 1}"
        if i % 20 == 7:
            return unreachable(inventory(name, zone), playbook,
                               ConnectFailed(f"{name}: connection refused")), zone
        steps = outcomes("healthy" if i % 10 == 3 else "crashing", name,
                         "2.19.0" if i % 4 == 0 else "2.18.7")
        report = _decode(steps, playbook, inventory(name, zone), now)
        return HostDiagnosis(host=name, service="checkout-api", steps=tuple(steps),
                             report=report, error="timed out" if i % 50 == 11 else None), zone

    crashing = outcomes("crashing", "sim-000", "2.18.7")

    def decode_one() -> object:
        return _decode(crashing, playbook, inventory("sim-000", "az-1"), now)

    decode_one()  # what is done once per process (capstone's engine, first-use caches)
    decode = _cpu_ms(decode_one, rounds=7, per_round=decodes) if decodes else 0.0
    built = [host(i) for i in range(hosts)]
    summary: dict[str, float] = {}
    for size in sorted({min(100, hosts), hosts} - {0}):
        frozen = pickle.dumps([d for d, _ in built[:size]])
        zones = {d.host: zone for d, zone in built[:size]}
        best = float("inf")
        for _ in range(5):
            diagnoses = pickle.loads(frozen)  # each round without what the last one cached
            with tempfile.TemporaryDirectory() as folder:
                start = time.process_time()
                drift_leads(diagnoses, playbook)
                _print_summary(Console(file=io.StringIO(), width=120), diagnoses, zones,
                               Path(folder), "checkout-api")
                best = min(best, time.process_time() - start)
        summary[str(size)] = best * 1000
    return {"decode_ms": decode, "summary_ms": summary}


def _measure(root: Path, hosts: int, decodes: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(root), "--hosts", str(hosts),
         "--decodes", str(decodes)], cwd=root, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _instructions(root: Path, decodes: int) -> float:
    """Instructions per decode: a run with `decodes` decodes minus one with none (callgrind)."""
    def run(count: int) -> int:
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
             __file__, "--child", str(root), "--hosts", "0", "--decodes", str(count)],
            cwd=root, capture_output=True, text=True)
        found = re.search(r"Collected : (\d+)", done.stderr)
        if done.returncode != 0 or found is None:
            raise SystemExit(f"valgrind failed: {done.stderr[-500:]}")
        return int(found.group(1))

    return (run(decodes) - run(0)) / (7 * decodes)  # _cpu_ms runs 7 rounds


def _baseline(revision: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=500)
    parser.add_argument("--baseline", help="a git revision to measure beside this tree")
    parser.add_argument("--pairs", type=int, default=3, help="alternate runs of each")
    parser.add_argument("--decodes", type=int, default=20, help="decodes per timed round")
    parser.add_argument("--instructions", action="store_true",
                        help="also count instructions per decode (valgrind)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(_child(args.child, args.hosts, args.decodes)))
        return
    with tempfile.TemporaryDirectory() as folder:
        roots = {"this tree": ROOT}
        if args.baseline:
            roots[f"baseline {args.baseline}"] = _baseline(args.baseline, Path(folder))
        print("decode: one crashing host's recorded outputs; summary: drift leads, the printed"
              " summary and the table file; CPU ms, least of 7 rounds (5 for the summary)")
        for _ in range(args.pairs):
            for name, root in roots.items():
                found = _measure(root, args.hosts, args.decodes)
                sizes = ", ".join(f"{n} hosts {ms:.1f} ms ({ms / int(n) * 1000:.0f} µs/host)"
                                  for n, ms in found["summary_ms"].items())
                print(f"{name:>24}: decode {found['decode_ms']:.2f} ms/host; summary {sizes};"
                      f" load {os.getloadavg()[0]:.1f}", flush=True)
        if args.instructions:
            for name, root in roots.items():
                count = _instructions(root, 3)
                print(f"{name:>24}: {count / 1e6:.1f} M instructions per decode")


if __name__ == "__main__":
    main()
