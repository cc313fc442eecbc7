"""A fan-out over several segbot processes (bot/wiring/fan_out.py) against the simulated fleet:
the same diagnoses as one process, in order; a process that dies costs only the hosts it held."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path

from bot.app.diagnose import HostDiagnosis, Inventory, Limits
from bot.config import load_config
from bot.wiring.fan_out import diagnose_service_hosts, processes_for

from .commands import load_segfault_playbook
from .fleet import SERVICE, UNIT, address, running_fleet
from .simhost import BINARY, HostSpec


def _specs(count: int, latency: float) -> list[HostSpec]:
    return [HostSpec(name=f"sim-{i:03d}", address=address(i), command_latency=latency,
                     profile="healthy" if i % 4 == 3 else "crashing") for i in range(count)]


def _diagnose(workdir: Path, specs: list[HostSpec], processes: int,
              on_progress: object = None) -> list[HostDiagnosis]:
    playbook = load_segfault_playbook()
    with running_fleet(specs, workdir) as fleet:
        cfg = load_config(fleet.config_path)
        inventories = [Inventory(host=s.name, service=SERVICE, unit=UNIT, binary=BINARY,
                                 user="segbot") for s in specs]
        return diagnose_service_hosts(
            cfg, playbook=playbook, inventories=inventories,
            evidence_dir=workdir / f"evidence-{processes}", now=datetime.now(UTC),
            limits=Limits(run_timeout=60, max_hosts=8),
            progress=on_progress or (lambda host, step, status: None),  # type: ignore[arg-type]
            processes=processes)


def _verdict(found: HostDiagnosis) -> tuple[object, ...]:
    report = found.report
    return (found.host, found.error, found.crashed, report and report.signature,
            tuple((s.step, s.status) for s in found.steps))


def test_several_processes_give_what_one_gives_in_order(tmp_path: Path) -> None:
    specs = _specs(24, 0.0)
    one = _diagnose(tmp_path / "one", specs, processes=1)
    two = _diagnose(tmp_path / "two", specs, processes=2)
    assert [d.host for d in two] == [s.name for s in specs]
    assert [_verdict(d) for d in two] == [_verdict(d) for d in one]
    assert sum(d.crashed for d in two) == 18 and all(d.error is None for d in two)


def test_a_dead_process_costs_only_the_hosts_it_held(tmp_path: Path) -> None:
    specs = _specs(40, 0.05)
    seen, killed = [0], threading.Event()

    def kill_the_other_process(host: str, step: str, status: str) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # this process's own hosts; the other's progress is relayed on this thread
        seen[0] += 1
        children = multiprocessing.active_children()
        if seen[0] > 30 and children and not killed.is_set():
            killed.set()
            os.kill(children[0].pid or 0, signal.SIGKILL)

    found = _diagnose(tmp_path, specs, processes=2, on_progress=kill_the_other_process)
    assert killed.is_set()
    assert [d.host for d in found] == [s.name for s in specs]
    lost = [d for d in found if d.error and "died" in d.error]
    # The dead process held its 4 hosts in flight, and maybe results it had not sent yet;
    # every other host was diagnosed, by this process once the other was gone.
    assert 1 <= len(lost) <= 8, [d.error for d in found]
    assert all(d.error is None for d in found if d not in lost)


def test_processes_follow_cores_and_waves() -> None:
    limits = Limits(max_hosts=16)
    assert processes_for(10, limits, cpus=8) == 1  # one wave: one process
    assert processes_for(500, limits, cpus=2) == 2
    assert processes_for(500, limits, cpus=64) == 4  # each keeps 4 hosts in flight
    assert processes_for(500, Limits(max_hosts=3), cpus=8) == 1
