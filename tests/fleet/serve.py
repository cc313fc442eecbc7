"""Serve a simulated fleet in this process until stdin closes (bench/fleet.py's child):

    python -m tests.fleet.serve WORKDIR --hosts 100 --connect-latency 0.1 --command-latency recorded
        [--hang 0.05] [--refuse 0.05] [--healthy 0.2] [--versions 2.18.7,2.19.0] [--azs 3]

Prints `ready` once every host listens and WORKDIR/segbot.yaml is written, and
`cpu SERVING STARTUP` when it stops: its own CPU seconds since `ready`, and before it (imports,
keys, listening sockets).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
from pathlib import Path

from .fleet import SimulatedFleet, address, new_loop
from .simhost import Failure, HostSpec


def fleet_specs(args: argparse.Namespace) -> list[HostSpec]:
    """Hosts with failures and profiles spread evenly (every k-th host), deterministically."""
    def every(fraction: float, index: int, offset: int) -> bool:
        return fraction > 0 and (index + offset) % round(1 / fraction) == 0

    versions = args.versions.split(",")
    specs = []
    for i in range(args.hosts):
        failure: Failure = ("hang" if every(args.hang, i, 1) else
                            "refuse" if every(args.refuse, i, 2) else "none")
        specs.append(HostSpec(
            name=f"sim-{i:03d}", address=address(i), az=f"az-{i % args.azs + 1}",
            profile="healthy" if every(args.healthy, i, 3) else "crashing",
            version=versions[i % len(versions)], failure=failure,
            connect_latency=args.connect_latency,
            command_latency=None if args.command_latency == "recorded"
            else float(args.command_latency)))
    return specs


async def _serve(args: argparse.Namespace) -> None:
    fleet = SimulatedFleet(fleet_specs(args), Path(args.workdir),
                           defaults=json.loads(args.defaults))
    await fleet.start()
    (Path(args.workdir) / "azs.json").write_text(json.dumps({s.name: s.az for s in fleet.specs}))
    startup = _cpu()
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin
    await fleet.stop()
    print(f"cpu {_cpu() - startup:.3f} {startup:.3f}", flush=True)


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("workdir")
    parser.add_argument("--hosts", type=int, default=10)
    parser.add_argument("--connect-latency", type=float, default=0.1)
    parser.add_argument("--command-latency", default="recorded",
                        help="seconds, or 'recorded': each step as long as the lab host took")
    parser.add_argument("--hang", type=float, default=0.0)
    parser.add_argument("--refuse", type=float, default=0.0)
    parser.add_argument("--healthy", type=float, default=0.0)
    parser.add_argument("--versions", default="2.18.7")
    parser.add_argument("--azs", type=int, default=3)
    parser.add_argument("--defaults", default="{}", help="JSON merged into the config defaults")
    with asyncio.Runner(loop_factory=new_loop) as runner:
        runner.run(_serve(parser.parse_args()))


if __name__ == "__main__":
    main()
