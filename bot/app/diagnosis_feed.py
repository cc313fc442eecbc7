"""Diagnose a host for an incident and feed the report as evidence lands, not at the end.

The runner is wrapped so each command's output is decoded the moment it arrives (routed by
the command line, as a pasted blob would be): the kernel line shows up in Slack while the
core is still being copied. The final, symbolized report replaces the partial one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bot.app.diagnose import (
    HostDiagnosis,
    Inventory,
    Limits,
    diagnose_host,
    diagnose_unreachable,
)
from bot.app.ports.hosts import CommandResult, CommandRunner, Fetched
from bot.app.report_view import ReportBook
from bot.domain.decode import Focus, Section
from bot.domain.incident import DiagnosisRequest
from bot.domain.playbook import Playbook
from bot.domain.redact import redact
from bot.errors import SegbotError

MAX_KEPT = 256 << 10  # characters of one output kept for rebuilding the report


class _ObservedRunner:
    """A CommandRunner that hands every finished command's output to `seen`."""

    def __init__(self, inner: CommandRunner, seen: Callable[[str, CommandResult], None]) -> None:
        self._inner, self._seen = inner, seen

    def run(self, command: str, *, timeout: float) -> CommandResult:
        result = self._inner.run(command, timeout=timeout)
        if result.stdout and not result.timed_out:
            self._seen(command, result)
        return result

    def fetch(self, remote: str, local: Path, *, max_bytes: int, timeout: float) -> Fetched:
        return self._inner.fetch(remote, local, max_bytes=max_bytes, timeout=timeout)

    def close(self) -> None:
        self._inner.close()


@dataclass(frozen=True)
class DiagnosisSetup:
    """Everything a diagnosis needs besides the request (built from the config)."""

    connect: Callable[[str], CommandRunner]
    inventory: Callable[[str, str], Inventory]  # (host, service) -> inventory values
    playbook: Playbook
    evidence_dir: Path
    limits: Limits = field(default_factory=Limits)
    # Called with every finished diagnosis (the adapters count step durations in metrics).
    observe: Callable[[HostDiagnosis], None] | None = None


def focus_of(inventory: Inventory) -> Focus:
    """As diagnose decodes: a shared kernel log shows other programs' crashes too."""
    return Focus(process=Path(inventory.binary).name[:15], executable=inventory.binary,
                 unit=inventory.unit)


def diagnose_live(*, request: DiagnosisRequest, setup: DiagnosisSetup, book: ReportBook,
                  changed: Callable[[int], None], now: Callable[[], datetime],
                  keep: Callable[[str, str], None] | None = None) -> HostDiagnosis:
    """Run the playbook on the request's host; `changed(incident)` whenever the report moved;
    `keep(command, output)` stores each (redacted) output first, for rebuilding."""
    incident, host = request.incident_id, request.host
    book.started(incident, host, len(setup.playbook.steps))
    changed(incident)
    inventory = setup.inventory(host, request.service)
    focus = focus_of(inventory)

    def progress(_host: str, step: str, status: str) -> None:
        book.step(incident, host, step, status)
        changed(incident)

    def seen(command: str, result: CommandResult) -> None:
        # Redacted before it is decoded, stored or shown, like diagnose's own outcomes.
        command, output = redact(command), redact(result.stdout)
        if keep is not None:
            keep(command, output[:MAX_KEPT])
        section = Section(output=output, command=command, host=host)
        if book.evidence(incident, host, section, now(), focus):
            changed(incident)

    try:
        runner = setup.connect(host)
    except SegbotError as error:
        diagnosis = diagnose_unreachable(inventory, setup.playbook, error)
    else:
        diagnosis = diagnose_host(
            runner=_ObservedRunner(runner, seen), playbook=setup.playbook, inventory=inventory,
            evidence_dir=setup.evidence_dir / f"incident-{incident}", now=now(),
            limits=setup.limits, progress=progress)
    book.finished(incident, host, diagnosis.report, diagnosis.error or diagnosis.decode_error)
    if setup.observe is not None:
        setup.observe(diagnosis)
    changed(incident)
    return diagnosis


def evidence_text(diagnosis: HostDiagnosis) -> str:
    """Every step's command and (redacted) output, for the file in the report's thread."""
    parts: list[str] = []
    for outcome in diagnosis.steps:
        head = f"### {outcome.step}: {outcome.title} [{outcome.status}]"
        if outcome.reason:
            head += f" ({outcome.reason})"
        parts.append(head)
        if outcome.command:
            parts.append(f"$ {outcome.command}")
        if outcome.output:
            parts.append(outcome.output.rstrip("\n"))
        if outcome.artifact is not None:
            parts.append(f"copied to {outcome.artifact.path} ({outcome.artifact.size} bytes, "
                         f"sha256 {outcome.artifact.sha256}, verified={outcome.verified})")
        parts.append("")
    return "\n".join(parts)
