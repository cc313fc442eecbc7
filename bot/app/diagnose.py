"""Diagnose use case: run the playbook on one host (or a service's hosts) through a CommandRunner.

Steps start in playbook order as soon as their `needs` are met, several at once; evidence
preservation comes first in the playbook, so it starts first. Each step ends ok, failed,
timed-out or skipped; a host that dies halfway still yields a (partial) decoded report.
"""

from __future__ import annotations

import re
import secrets
import shlex
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from pathlib import Path
from queue import SimpleQueue
from typing import Literal

from bot.app.enrich import SymbolSources, symbolize_report
from bot.app.ports.hosts import CommandResult, CommandRunner, Fetched
from bot.app.report_view import deployed_version
from bot.domain.conclude import core_preserved
from bot.domain.decode import DecodedReport, Focus, Section, decode_sections
from bot.domain.evidence import ServiceExit
from bot.domain.playbook import DEFAULT_CORE_DIR, Playbook, Step, captured, render
from bot.domain.redact import redact
from bot.errors import ConnectFailed, HostKeyRejected, RemoteError, SegbotError

Status = Literal["ok", "failed", "timed-out", "skipped"]
_SHA256 = re.compile(r"^\\?([0-9a-f]{64})\s", re.MULTILINE)


@dataclass(frozen=True)
class StepOutcome:
    step: str
    title: str
    status: Status
    reason: str | None = None
    command: str | None = None
    output: str = ""
    exit_status: int | None = None
    duration: float = 0.0
    truncated: bool = False
    artifact: Fetched | None = None
    verified: bool | None = None
    host_lost: bool = False  # the connection died or could not be made: stop the run


@dataclass(frozen=True)
class Inventory:
    """The values a playbook may be filled with for one host (all from config)."""

    host: str
    service: str
    unit: str
    binary: str
    user: str
    sudo: bool = True
    core_dir: str = DEFAULT_CORE_DIR
    zone: str | None = None  # the host's AZ label, for the fan-out summary

    def values(self, stamp: str, nonce: str) -> dict[str, str]:
        """`nonce`: random hex, so a core's name cannot be guessed before it exists."""
        return {
            "host": self.host, "service": self.service, "unit": self.unit,
            "binary": self.binary, "user": self.user,
            "process": Path(self.binary).name[:15],  # the kernel's comm: at most 15 characters
            "core_dir": self.core_dir,
            "core_path": f"{self.core_dir}/{self.service}-{stamp}-{nonce}.core",
        }


@dataclass(frozen=True)
class Limits:
    run_timeout: float = 300.0
    max_parallel_steps: int = 8
    max_artifact_bytes: int = 4 << 30
    max_hosts: int = 16
    keep_host_cores: bool = False  # else a core leaves the host once its copy is verified


@dataclass(frozen=True)
class HostDiagnosis:
    host: str
    service: str
    steps: tuple[StepOutcome, ...]
    report: DecodedReport | None = None  # None only when decoding itself failed
    error: str | None = None  # why the run stopped early (host unreachable, key refused, ...)
    decode_error: str | None = None
    captured: Mapping[str, str] = field(default_factory=dict)
    symbol_notes: tuple[str, ...] = ()  # why some frames could not be symbolized
    core_removed: bool | None = None  # the host's copy deleted (None: nothing to delete)

    def outcome(self, step_id: str) -> StepOutcome | None:
        return self._outcomes.get(step_id)

    @cached_property  # a fleet's summary asks each host for each compared step
    def _outcomes(self) -> dict[str, StepOutcome]:
        return {o.step: o for o in reversed(self.steps)}  # the first of a step id wins

    @cached_property  # the summary, the version tally and the table each ask
    def version(self) -> str | None:
        """The service's version on the host (its last deploy), else its binary's build-id."""
        return deployed_version(self.report) if self.report is not None else None

    @cached_property  # asked per compared step and summary: once per host is enough
    def crashed(self) -> bool:
        """A core of the service, a crash seen by a host-local source, or a signal exit.

        Kernel lines alone do not count: a container's dmesg shows its neighbours' crashes."""
        if "pid" in self.captured:
            return True
        if self.report is None:
            return False
        return any(set(c.sources) - {"kernel"} for c in self.report.crashes) or any(
            isinstance(f, ServiceExit) and f.signal for f in self.report.facts)


Progress = Callable[[str, str, str], None]  # (host, step id, "running" or a final status)


def _quiet(host: str, step: str, status: str) -> None:
    pass


def _command_outcome(step: Step, command: str, result: CommandResult) -> StepOutcome:
    base = StepOutcome(step=step.id, title=step.title, status="ok", command=redact(command),
                       output=redact(result.stdout), exit_status=result.exit_status,
                       duration=result.duration, truncated=result.truncated)
    if result.timed_out:
        return replace(base, status="timed-out", reason=f"no result within {step.timeout:g}s")
    if result.exit_status in step.ok_exit or (result.truncated and result.exit_status is None):
        return replace(base, reason="output truncated" if result.truncated else None)
    if result.exit_status is None:
        return replace(base, status="failed", reason="ended without an exit status (killed by a "
                       "signal, or the host went away)")
    lines = result.stderr.strip().splitlines()
    detail = redact(lines[-1])[:200] if lines else ""
    reason = f"exit status {result.exit_status}" + (f": {detail}" if detail else "")
    return replace(base, status="failed", reason=reason)


class _HostRun:
    """The state of one host's run; futures report back to the thread that owns this."""

    def __init__(self, *, runner: CommandRunner, playbook: Playbook, inventory: Inventory,
                 evidence_dir: Path, limits: Limits, stamp: str, nonce: str,
                 progress: Progress, clock: Callable[[], float]) -> None:
        self.runner, self.playbook, self.inventory = runner, playbook, inventory
        self.evidence_dir, self.limits, self.progress, self.clock = (
            evidence_dir, limits, progress, clock)
        self.values = inventory.values(stamp, nonce)
        self.outcomes: dict[str, StepOutcome] = {}
        self.deadline = clock() + limits.run_timeout
        self.dead: str | None = None

    def _skip(self, step: Step, reason: str) -> StepOutcome:
        return StepOutcome(step=step.id, title=step.title, status="skipped", reason=reason)

    def _blocked(self, step: Step) -> str | None:
        if self.dead is not None:
            return f"host unreachable: {self.dead}"
        for need in step.needs:
            if self.outcomes[need].status != "ok" and not self.playbook.step(need).optional:
                return f"needs {need}, which is {self.outcomes[need].status}"
        missing = sorted(step.placeholders() - set(self.values))
        if missing:
            return "no core found" if missing == ["pid"] else f"no value for {missing}"
        if self.deadline - self.clock() <= 0:
            return f"run deadline ({self.limits.run_timeout:g}s) passed"
        return None

    def _execute(self, step: Step) -> StepOutcome:
        timeout = max(0.1, min(step.timeout, self.deadline - self.clock()))
        rendered = render(step.template, self.values)
        try:
            if step.fetch is not None:
                return self._fetch(step, rendered, timeout)
            command = rendered
            if step.sudo and self.inventory.sudo and self.inventory.user != "root":
                command = f"sudo -n {rendered}"
            return _command_outcome(step, command, self.runner.run(command, timeout=timeout))
        except (SegbotError, OSError) as error:  # the host's trouble, or our evidence disk's
            status: Status = "timed-out" if "timed out" in str(error) else "failed"
            return StepOutcome(step=step.id, title=step.title, status=status,
                               reason=redact(str(error)), command=redact(rendered),
                               host_lost=isinstance(error, (ConnectFailed, HostKeyRejected)))

    def _fetch(self, step: Step, remote: str, timeout: float) -> StepOutcome:
        self.evidence_dir.mkdir(parents=True, exist_ok=True)
        local = self.evidence_dir / f"{self.inventory.host}-{Path(remote).name}"
        started = self.clock()
        fetched = self.runner.fetch(remote, local, max_bytes=self.limits.max_artifact_bytes,
                                    timeout=timeout)
        expected = None
        if step.verify is not None:
            match = _SHA256.search(self.outcomes[step.verify].output)
            expected = match.group(1) if match else None
        verified = None if expected is None else expected == fetched.sha256
        status: Status = "failed" if verified is False else "ok"
        reason = (f"sha256 {fetched.sha256} differs from the host's {expected}"
                  if verified is False else None)
        return StepOutcome(step=step.id, title=step.title, status=status, reason=reason,
                           command=f"sftp get {remote}", artifact=fetched, verified=verified,
                           duration=self.clock() - started)

    def _record(self, step: Step, outcome: StepOutcome) -> None:
        self.outcomes[step.id] = outcome
        if outcome.status == "ok":
            self.values.update(captured(step, outcome.output))
        elif self.dead is None and outcome.host_lost:
            self.dead = outcome.reason
        self.progress(self.inventory.host, step.id, outcome.status)

    def remove_core(self) -> bool | None:
        """Delete the host's copy of the core once a copy off the host matched its sha256."""
        copied = [o for s in self.playbook.steps if s.fetch == "{core_path}"
                  and (o := self.outcomes.get(s.id)) is not None and o.verified is True]
        if not copied or self.limits.keep_host_cores or self.dead is not None:
            return None
        path = shlex.quote(self.values["core_path"])
        try:
            result = self.runner.run(f"rm -f -- {path}", timeout=30)
        except (SegbotError, OSError):
            return False
        return result.exit_status == 0

    def run(self, pool: Executor) -> None:
        pending = list(self.playbook.steps)
        running: dict[Future[StepOutcome], Step] = {}
        # Futures report here when done: cheaper than `wait`, which hooks every running future
        # anew for each completion.
        finished: SimpleQueue[Future[StepOutcome]] = SimpleQueue()
        while pending or running:
            for step in list(pending):
                if len(running) >= self.limits.max_parallel_steps:
                    break  # decide at start time: the host may die, the deadline pass
                if any(need not in self.outcomes for need in step.needs):
                    continue
                pending.remove(step)
                reason = self._blocked(step)
                if reason is not None:
                    self._record(step, self._skip(step, reason))
                    continue
                self.progress(self.inventory.host, step.id, "running")
                future = pool.submit(self._execute, step)
                running[future] = step
                future.add_done_callback(finished.put)
            if running:
                done = [finished.get()]
                while not finished.empty():  # every step that ended by now, as `wait` did
                    done.append(finished.get())
                for future in done:
                    self._record(running.pop(future), future.result())


def _decode(outcomes: list[StepOutcome], playbook: Playbook, inventory: Inventory,
            now: datetime) -> DecodedReport:
    steps = {s.id: s for s in reversed(playbook.steps)}  # as Playbook.step: the first wins
    # A step without a parser is routed by its command (gdb: backtrace and mappings at once).
    sections = [
        Section(output=o.output, command=o.command, parser=steps[o.step].parser,
                host=inventory.host)
        for o in outcomes
        if o.status == "ok" and o.output and not steps[o.step].compare_only
    ]
    focus = Focus(process=Path(inventory.binary).name[:15], executable=inventory.binary,
                  unit=inventory.unit)  # a shared dmesg shows other programs' crashes too
    return decode_sections(sections, now=now, host=inventory.host, focus=focus)


def diagnose_host(*, runner: CommandRunner, playbook: Playbook, inventory: Inventory,
                  evidence_dir: Path, now: datetime, limits: Limits = Limits(),
                  progress: Progress = _quiet,
                  clock: Callable[[], float] = time.monotonic,
                  nonce: str | None = None, steps: Executor | None = None) -> HostDiagnosis:
    """Run the playbook on one host (its steps on `steps`, else on threads of its own);
    never raises for what happens on the host."""
    state = _HostRun(runner=runner, playbook=playbook, inventory=inventory,
                     evidence_dir=evidence_dir, limits=limits, progress=progress, clock=clock,
                     stamp=now.strftime("%Y%m%dT%H%M%SZ"),
                     nonce=nonce or secrets.token_hex(16))
    try:
        if steps is None:
            with ThreadPoolExecutor(max_workers=limits.max_parallel_steps) as own:
                state.run(own)
        else:
            state.run(steps)
        removed = state.remove_core()
    finally:
        runner.close()
    outcomes = [state.outcomes[s.id] for s in playbook.steps]
    report, decode_error, notes = None, None, list[str]()
    try:
        report = _decode(outcomes, playbook, inventory, now)
        copies = [o.artifact.path for o in outcomes if o.artifact is not None and o.status == "ok"
                  and playbook.step(o.step).fetch == "{binary}"]
        if copies:  # symbolize from the copy taken off the host: the host may be gone
            report, notes = symbolize_report(report, SymbolSources(paths=tuple(copies)))
        core = state.outcomes.get("fetch_core")
        if core is not None and core.status == "ok" and core.verified:
            report = core_preserved(report)
    except Exception as failure:
        decode_error = f"decoding failed: {failure!r}"
    pid = {k: v for k, v in state.values.items() if k == "pid"}
    return HostDiagnosis(host=inventory.host, service=inventory.service, steps=tuple(outcomes),
                         report=report, error=state.dead, decode_error=decode_error,
                         captured=pid, symbol_notes=tuple(notes), core_removed=removed)


def diagnose_unreachable(inventory: Inventory, playbook: Playbook, error: SegbotError
                         ) -> HostDiagnosis:
    """The diagnosis of a host we could not even connect to: every step skipped."""
    reason = redact(str(error))
    steps = tuple(StepOutcome(step=s.id, title=s.title, status="skipped", reason=reason)
                  for s in playbook.steps)
    return HostDiagnosis(host=inventory.host, service=inventory.service, steps=steps,
                         error=reason)


def connect_and_diagnose(inventory: Inventory, *, connect: Callable[[str], CommandRunner],
                         playbook: Playbook, evidence_dir: Path, now: datetime,
                         limits: Limits = Limits(), progress: Progress = _quiet,
                         clock: Callable[[], float] = time.monotonic,
                         steps: Executor | None = None) -> HostDiagnosis:
    """One host of a fan-out: connected, then diagnosed; one we cannot reach is reported so."""
    try:
        runner = connect(inventory.host)
    except (ConnectFailed, HostKeyRejected, RemoteError) as error:
        for step in playbook.steps:
            progress(inventory.host, step.id, "skipped")
        return diagnose_unreachable(inventory, playbook, error)
    return diagnose_host(runner=runner, playbook=playbook, inventory=inventory,
                         evidence_dir=evidence_dir, now=now, limits=limits, progress=progress,
                         clock=clock, steps=steps)


def diagnose_fleet(*, connect: Callable[[str], CommandRunner], playbook: Playbook,
                   inventories: list[Inventory], evidence_dir: Path, now: datetime,
                   limits: Limits = Limits(), progress: Progress = _quiet,
                   clock: Callable[[], float] = time.monotonic) -> list[HostDiagnosis]:
    """Diagnose several hosts at once (at most `limits.max_hosts` in flight)."""
    hosts = max(1, min(limits.max_hosts, len(inventories)))
    # One pool of step threads for the fleet: a pool per host started 8 threads per host.
    with (ThreadPoolExecutor(max_workers=hosts * limits.max_parallel_steps) as steps,
          ThreadPoolExecutor(max_workers=hosts) as pool):
        return list(pool.map(lambda inventory: connect_and_diagnose(
            inventory, connect=connect, playbook=playbook, evidence_dir=evidence_dir, now=now,
            limits=limits, progress=progress, clock=clock, steps=steps), inventories))
