"""A service's hosts diagnosed on every core: more than one wave of hosts is shared among
processes that take hosts from one queue, each with its part of `max_hosts` in flight.

One process runs on one core at most (the GIL), and each host costs segbot tens of milliseconds
of CPU (SSH crypto and packets, decoding): past a few hundred hosts one process, not the hosts,
set the pace. This process diagnoses too, from the start, while the others import.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import math
import multiprocessing
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.app.diagnose import HostDiagnosis, Inventory, Limits
    from bot.config import Config
    from bot.domain.playbook import Playbook

Progress = Callable[[str, str, str], None]
_MAX_PROCESSES = 8
_LOST = "the segbot process diagnosing this host died"
_M_ARENA_MAX = -8  # glibc's malloc.h


def _connector(config: Config) -> Callable[[str], Any]:
    """The SSH connector, with this process made ready for a fan-out's many threads."""
    from bot.wiring.ssh import ssh_connector

    connect = ssh_connector(config)
    # glibc gives threads malloc arenas of their own (8 per core): a fan-out's threads spread
    # their short-lived buffers over them, and memory grew with hosts while objects did not.
    # Two arenas keep it flat; elsewhere than glibc this does nothing.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(_M_ARENA_MAX, 2)
    gc.freeze()  # what start-up built lives as long as the process: collections skip it
    return connect


def processes_for(hosts: int, limits: Limits, cpus: int | None = None) -> int:
    """One process per core when there is more than one wave of hosts, each keeping at least
    4 hosts in flight."""
    cpus = cpus if cpus is not None else len(os.sched_getaffinity(0))  # the cores we may use
    waves = math.ceil(hosts / max(1, limits.max_hosts))
    return max(1, min(cpus, waves, limits.max_hosts // 4, _MAX_PROCESSES))


@dataclass(frozen=True)
class _Share:
    """What each process needs to diagnose its hosts (pickled to the others)."""

    config: Config
    playbook: Playbook
    evidence_dir: Path
    now: datetime
    limits: Limits  # max_hosts: this process's part

    def take_hosts(self, work: Any, done: Callable[[int, HostDiagnosis], None],
                   taken: Callable[[int], None], progress: Progress) -> None:
        """Diagnose hosts from `work` on `limits.max_hosts` threads until each meets its stop."""
        from bot.app import diagnose

        connect = _connector(self.config)

        def loop(steps: ThreadPoolExecutor) -> None:
            while (item := work.get()) is not None:
                index, inventory = item
                taken(index)
                done(index, diagnose.connect_and_diagnose(
                    inventory, connect=connect, playbook=self.playbook,
                    evidence_dir=self.evidence_dir, now=self.now, limits=self.limits,
                    progress=progress, steps=steps))

        hosts = self.limits.max_hosts
        with ThreadPoolExecutor(max_workers=hosts * self.limits.max_parallel_steps) as steps:
            threads = [threading.Thread(target=loop, args=(steps,)) for _ in range(hosts)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()


def diagnose_service_hosts(config: Config, *, playbook: Playbook, inventories: list[Inventory],
                           evidence_dir: Path, now: datetime, limits: Limits,
                           progress: Progress, processes: int | None = None
                           ) -> list[HostDiagnosis]:
    """Every inventory's diagnosis, in order, on one process or several."""
    from bot.app import diagnose

    count = processes if processes is not None else processes_for(len(inventories), limits)
    if count <= 1:
        return diagnose.diagnose_fleet(
            connect=_connector(config), playbook=playbook, inventories=inventories,
            evidence_dir=evidence_dir, now=now, limits=limits, progress=progress)
    share = _Share(config=config, playbook=playbook, evidence_dir=evidence_dir, now=now,
                   limits=replace(limits, max_hosts=max(1, limits.max_hosts // count)))
    return _SharedRun(share, inventories, progress, count).run()


class _SharedRun:
    """One fan-out over several processes: a queue of hosts out, a queue of events back."""

    def __init__(self, share: _Share, inventories: list[Inventory], progress: Progress,
                 processes: int) -> None:
        self.share, self.inventories, self.progress = share, inventories, progress
        self.context = multiprocessing.get_context("spawn")  # a fork would copy held locks
        self.work: Any = self.context.Queue()
        self.events: Any = self.context.Queue()
        self.children = [self.context.Process(target=_child, args=(share, self.work,
                                                                   self.events), daemon=True)
                         for _ in range(processes - 1)]
        self.results: dict[int, HostDiagnosis] = {}
        self.taken: dict[int, int | None] = {}  # host index -> the child's pid (None: ours)
        self.lock = threading.Lock()

    def run(self) -> list[HostDiagnosis]:
        for index, inventory in enumerate(self.inventories):
            self.work.put((index, inventory))
        for _ in range(self.share.limits.max_hosts * (len(self.children) + 1)):
            self.work.put(None)  # one stop per thread, behind every host
        for child in self.children:
            child.start()
        ours = threading.Thread(target=self._take_ours, daemon=True)
        ours.start()
        try:
            while len(self.results) < len(self.inventories):
                try:
                    self._event(self.events.get(timeout=0.5))
                except queue.Empty:
                    self._bury(ours_alive=ours.is_alive())
        finally:
            ours.join()
            for child in self.children:  # every result is in: a late starter holds nothing
                child.join(timeout=2)
                if child.is_alive():
                    child.kill()
        return [self.results[i] for i in range(len(self.inventories))]

    def _take_ours(self) -> None:
        def done(index: int, found: HostDiagnosis) -> None:
            with self.lock:
                self.results[index] = found

        def taken(index: int) -> None:
            with self.lock:
                self.taken[index] = None

        self.share.take_hosts(self.work, done, taken, self.progress)

    def _event(self, event: tuple[Any, ...]) -> None:
        kind = event[0]
        if kind == "progress":
            self.progress(*event[1:])
            return
        with self.lock:
            if kind == "taken":
                self.taken[event[1]] = event[2]
            elif kind == "done":
                self.results[event[1]] = event[2]

    def _bury(self, *, ours_alive: bool) -> None:
        """Hosts a dead process had taken get an error (hosts it never took stay queued for the
        others); when no process is left, every host still missing does."""
        from bot.app.diagnose import diagnose_unreachable
        from bot.errors import RemoteError

        dead = {c.pid for c in self.children if c.exitcode not in (None, 0)}
        everyone_gone = not ours_alive and all(c.exitcode is not None for c in self.children)
        with self.lock:
            for index, inventory in enumerate(self.inventories):
                if index in self.results:
                    continue
                if everyone_gone or (index in self.taken and self.taken[index] in dead):
                    self.results[index] = diagnose_unreachable(
                        inventory, self.share.playbook, RemoteError(_LOST))


def _child(share: _Share, work: Any, events: Any) -> None:
    pid = os.getpid()
    share.take_hosts(
        work, done=lambda index, found: events.put(("done", index, found)),
        taken=lambda index: events.put(("taken", index, pid)),
        progress=lambda host, step, status: events.put(("progress", host, step, status)))
