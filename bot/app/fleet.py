"""Across a service's hosts: the blast radius and what differs between crashing and healthy hosts.

The seed's branch "only certain hosts: suspect configuration drift" becomes a lead whenever a
compared step (build-id, binary checksum, libraries, kernel, libc) gives the crashing hosts
values that no healthy host has.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.app.diagnose import HostDiagnosis
from bot.app.report_view import HostProgress
from bot.domain.playbook import Playbook

FLEET_OVER = 10  # hosts: above this a report shows counts and outliers, not a line per host
FLEET_TABLE = "hosts.txt"  # the incident thread's file with a line per host
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


def blast_radius(diagnoses: Sequence[HostDiagnosis]) -> BlastRadius:
    reached = [d for d in diagnoses if not all(s.status == "skipped" for s in d.steps)]
    crashing = [d for d in reached if d.crashed]
    reached_ids = {id(d) for d in reached}
    return BlastRadius(
        crashing=tuple(d.host for d in crashing),
        healthy=tuple(d.host for d in reached if not d.crashed),
        unreachable=tuple(d.host for d in diagnoses if id(d) not in reached_ids),
        signatures=_grouped([(d.report.signature if d.report else None, d.host)
                             for d in crashing]),
        versions=_grouped([(d.version, d.host) for d in reached]),
    )


def drift_leads(diagnoses: Sequence[HostDiagnosis], playbook: Playbook) -> list[Lead]:
    """Compared steps whose values on crashing hosts never appear on a healthy host."""
    leads: list[Lead] = []
    # Hosts of one service mostly print the same thing: normalize each distinct output once.
    normal: dict[str, str] = {}
    for step in (s for s in playbook.steps if s.compare):
        crash_values: list[tuple[str, str]] = []
        healthy_values: list[tuple[str, str]] = []
        for diagnosis in diagnoses:
            outcome = diagnosis.outcome(step.id)
            if outcome is None or outcome.status != "ok":
                continue
            side = crash_values if diagnosis.crashed else healthy_values
            if (value := normal.get(outcome.output)) is None:
                value = normal[outcome.output] = normalized(outcome.output)
            side.append((value, diagnosis.host))
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


@dataclass(frozen=True)
class Tally:
    value: str
    hosts: int
    crashing: int


@dataclass(frozen=True)
class Outlier:
    host: str
    why: str


@dataclass(frozen=True)
class FleetSummary:
    """A fan-out for people: counts per signature, version and AZ, and the hosts that differ."""

    hosts: int
    crashing: int
    healthy: int
    unreachable: int
    signatures: tuple[Tally, ...]  # crashing hosts only
    versions: tuple[Tally, ...]
    zones: tuple[Tally, ...]
    outliers: tuple[Outlier, ...]

    def lines(self, *, max_outliers: int = 10) -> list[str]:
        def tallies(name: str, rows: tuple[Tally, ...]) -> str:
            return f"{name}: " + "; ".join(f"{t.value} {t.crashing}/{t.hosts} crashing"
                                           for t in rows)

        lines = [f"{self.hosts} hosts: {self.crashing} crashing, {self.healthy} healthy, "
                 f"{self.unreachable} unreachable",
                 "signatures: " + ("; ".join(f"{t.value} on {t.hosts}" for t in self.signatures)
                                   or "none"),
                 tallies("versions", self.versions), tallies("AZs", self.zones)]
        shown = self.outliers[:max_outliers]
        lines += [f"outlier {o.host}: {o.why}" for o in shown]
        if len(self.outliers) > len(shown):
            lines.append(f"... and {len(self.outliers) - len(shown)} more outliers")
        return lines


def _tally(rows: list[tuple[str, bool]]) -> tuple[Tally, ...]:
    counts: dict[str, list[int]] = {}
    for value, crashed in rows:
        entry = counts.setdefault(value, [0, 0])
        entry[0] += 1
        entry[1] += crashed
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1][0], kv[0]))
    return tuple(Tally(value=v, hosts=n, crashing=c) for v, (n, c) in ordered)


def summarize(diagnoses: Sequence[HostDiagnosis], zones: Mapping[str, str]) -> FleetSummary:
    """`zones`: each host's AZ label (from the inventory's labels); hosts without one: "?"."""
    radius = blast_radius(diagnoses)
    unreachable = set(radius.unreachable)
    reached = [d for d in diagnoses if d.host not in unreachable]
    signatures = _tally([(d.report.signature if d.report and d.report.signature else
                          "no signature", True) for d in reached if d.crashed])
    common = signatures[0].value if signatures else None
    outliers = [Outlier(d.host, d.error or d.decode_error or "")
                for d in diagnoses if d.error or d.decode_error]
    outliers += [Outlier(d.host, f"signature {d.report.signature if d.report else None} "
                         f"(most crashing hosts: {common})")
                 for d in reached if d.crashed and len(signatures) > 1 and
                 (d.report.signature if d.report and d.report.signature else "no signature")
                 != common]
    return FleetSummary(
        hosts=len(diagnoses), crashing=len(radius.crashing), healthy=len(radius.healthy),
        unreachable=len(unreachable), signatures=signatures,
        versions=_tally([(d.version or "unknown", d.crashed) for d in reached]),
        zones=_tally([(zones.get(d.host, "?"), d.crashed) for d in reached]),
        outliers=tuple(outliers))


def fleet_table(diagnoses: Sequence[HostDiagnosis], zones: Mapping[str, str]) -> str:
    """Every host on one tab-separated line (the file beside the summary)."""
    rows = ["host\taz\tversion\tstate\tsignature\terror"]
    for d in diagnoses:
        state = ("unreachable" if all(s.status == "skipped" for s in d.steps) else
                 "crashing" if d.crashed else "healthy")
        signature = d.report.signature if d.report and d.report.signature else ""
        rows.append("\t".join([d.host, zones.get(d.host, "?"), d.version or "unknown", state,
                               signature, " ".join((d.error or "").split())]))
    return "\n".join(rows) + "\n"


def progress_table(hosts: Sequence[HostProgress]) -> str:
    """An incident's hosts, one tab-separated line each (the thread's `hosts.txt`)."""
    rows = ["host\taz\tversion\tsteps\tstate\tsignature\tfailed steps\terror"]
    for h in hosts:
        state = "stopped early" if h.error else "done" if h.finished else "running"
        rows.append("\t".join([h.host, h.zone or "?", h.version or "unknown",
                               f"{h.done}/{h.total}", state, h.signature or "",
                               ",".join(h.failed), " ".join((h.error or "").split())]))
    return "\n".join(rows) + "\n"
