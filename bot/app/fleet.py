"""Across a service's hosts: the blast radius and what differs between crashing and healthy hosts.

The seed's branch "only certain hosts: suspect configuration drift" becomes a lead whenever a
compared step (build-id, binary checksum, libraries, kernel, libc) gives the crashing hosts
values that no healthy host has.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.app.diagnose import HostDiagnosis
from bot.domain.evidence import BuildId, Deploy
from bot.domain.playbook import Playbook

_ADDRESS = re.compile(r"\s*\(0x[0-9a-f]+\)")
_SHA256_LINE = re.compile(r"^\\?([0-9a-f]{64})\s.*$", re.MULTILINE)


@dataclass(frozen=True)
class BlastRadius:
    crashing: tuple[str, ...]
    healthy: tuple[str, ...]
    unreachable: tuple[str, ...]
    signatures: tuple[tuple[str | None, tuple[str, ...]], ...]  # signature -> crashing hosts
    versions: tuple[tuple[str | None, tuple[str, ...]], ...]  # version or build-id -> hosts

    @property
    def same_signature(self) -> bool:
        return len(self.signatures) == 1 and self.signatures[0][0] is not None


@dataclass(frozen=True)
class Lead:
    step: str
    title: str
    crashing: tuple[tuple[str, tuple[str, ...]], ...]  # value -> hosts
    healthy: tuple[tuple[str, tuple[str, ...]], ...]

    @property
    def text(self) -> str:
        def side(groups: tuple[tuple[str, tuple[str, ...]], ...]) -> str:
            return "; ".join(f"{', '.join(hosts)}: {_short(value)}" for value, hosts in groups)

        return (f"only certain hosts crash; {self.title} differs — crashing [{side(self.crashing)}]"
                f" vs healthy [{side(self.healthy)}]: suspect configuration drift")


def _short(value: str) -> str:
    one_line = " | ".join(value.splitlines())
    return one_line if len(one_line) <= 120 else one_line[:117] + "..."


def normalized(output: str) -> str:
    """A step's output with per-host noise removed (load addresses, file names by checksums)."""
    text = _SHA256_LINE.sub(r"\1", _ADDRESS.sub("", output))
    return "\n".join(sorted(" ".join(line.split()) for line in text.splitlines() if line.strip()))


def _grouped(pairs: list[tuple[str | None, str]]) -> tuple[tuple[str | None, tuple[str, ...]], ...]:
    groups: dict[str | None, list[str]] = {}
    for value, host in pairs:
        groups.setdefault(value, []).append(host)
    return tuple((value, tuple(hosts)) for value, hosts in groups.items())


def _version(diagnosis: HostDiagnosis) -> str | None:
    report = diagnosis.report
    if report is None:
        return None
    versions = [f.version for f in report.facts if isinstance(f, Deploy) and f.version]
    if versions:
        return versions[-1]
    build_ids = [f.build_id for f in report.facts if isinstance(f, BuildId)]
    return f"build-id {build_ids[0]}" if build_ids else None


def blast_radius(diagnoses: Sequence[HostDiagnosis]) -> BlastRadius:
    reached = [d for d in diagnoses if not all(s.status == "skipped" for s in d.steps)]
    crashing = [d for d in reached if d.crashed]
    return BlastRadius(
        crashing=tuple(d.host for d in crashing),
        healthy=tuple(d.host for d in reached if not d.crashed),
        unreachable=tuple(d.host for d in diagnoses if d not in reached),
        signatures=_grouped([(d.report.signature if d.report else None, d.host)
                             for d in crashing]),
        versions=_grouped([(_version(d), d.host) for d in reached]),
    )


def drift_leads(diagnoses: Sequence[HostDiagnosis], playbook: Playbook) -> list[Lead]:
    """Compared steps whose values on crashing hosts never appear on a healthy host."""
    leads: list[Lead] = []
    for step in (s for s in playbook.steps if s.compare):
        crash_values: list[tuple[str, str]] = []
        healthy_values: list[tuple[str, str]] = []
        for diagnosis in diagnoses:
            outcome = diagnosis.outcome(step.id)
            if outcome is None or outcome.status != "ok":
                continue
            side = crash_values if diagnosis.crashed else healthy_values
            side.append((normalized(outcome.output), diagnosis.host))
        if not crash_values or not healthy_values:
            continue
        if {v for v, _ in crash_values} & {v for v, _ in healthy_values}:
            continue
        leads.append(Lead(step=step.id, title=step.title,
                          crashing=_grouped_str(crash_values),
                          healthy=_grouped_str(healthy_values)))
    return leads


def _grouped_str(pairs: list[tuple[str, str]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((str(v), hosts) for v, hosts in _grouped(list(pairs)))
