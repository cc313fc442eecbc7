"""The decoder's entry points: pasted text or per-command outputs in, a DecodedReport out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from bot.domain.classify import classify
from bot.domain.correlation import changes_before_first_crash
from bot.domain.crash import Crash
from bot.domain.evidence import BuildId, CrashEvidence, Fact, MemoryMapping, RestartPolicy
from bot.domain.health import evidence_health, restart_storm
from bot.domain.logline import split_records
from bot.domain.merge import combine_groups, group_evidence, merge_crashes
from bot.domain.parsers.registry import (
    PARSERS,
    SELF_IDENTIFYING,
    command_subject,
    parsers_for_command,
)
from bot.domain.parsers.result import Parsed
from bot.domain.report import DecodedReport, SectionSummary
from bot.domain.sections import Section, split_sections
from bot.domain.shared_kernel import machine_groups_apart
from bot.domain.signature import crash_signature
from bot.domain.timestamps import find_year
from bot.domain.triage import determinism, recommend

__all__ = ["DecodedReport", "Focus", "Section", "decode_message", "decode_sections",
           "decode_text"]

# What an alert's message can carry: a kernel line, a journal line, systemd-coredump's entry.
_MESSAGE_PARSERS = ("kernel", "journal", "coredumpctl_info")


class _Named(Protocol):
    """Whatever names a program: a crash, or one source's evidence of it."""

    @property
    def process(self) -> str | None: ...
    @property
    def executable(self) -> str | None: ...
    @property
    def unit(self) -> str | None: ...


@dataclass(frozen=True)
class Focus:
    """The program under investigation; any one matching name is enough."""

    process: str | None = None  # the kernel's comm (cut to 15 characters)
    executable: str | None = None
    unit: str | None = None

    def matches(self, crash: _Named) -> bool:
        if self.executable and crash.executable:
            return crash.executable == self.executable
        if self.unit and crash.unit:
            return crash.unit == self.unit
        if self.process and crash.process:
            return crash.process[:15] == self.process[:15]
        return not (crash.process or crash.executable or crash.unit)


def decode_text(
    text: str, *, now: datetime | None = None, host: str | None = None
) -> DecodedReport:
    """Decode a pasted blob: any mix of command outputs, in any order, prompts or not."""
    sections = [replace(s, host=host) for s in split_sections(text)]
    return decode_sections(sections, now=now, host=host)


def decode_message(text: str, *, now: datetime | None = None,
                   host: str | None = None) -> tuple[Crash | None, str | None]:
    """The crash an alert's message describes and its signature, without the host-fact
    parsers and the triage a full report needs (alert intake decodes every alert)."""
    year = find_year(text) or (now.year if now else None)
    body = text.strip()  # one record unless split_records would break it
    one_record = "\n" not in body and "\r" not in body and "#012" not in body
    evidence: list[CrashEvidence] = []
    for name in _MESSAGE_PARSERS:
        found = PARSERS[name].parse(text, year=year, host=host).crashes
        evidence.extend(found)
        if found and one_record:
            break  # a line is one record: the parser that read a crash in it owns it
    crashes = merge_crashes(evidence)
    if not crashes:
        return None, None
    primary = max(crashes, key=lambda c: (c.has_site, len(c.sources)))
    return primary, crash_signature(primary)


def decode_sections(
    sections: Sequence[Section],
    *,
    now: datetime | None = None,
    host: str | None = None,
    focus: Focus | None = None,
) -> DecodedReport:
    """Decode per-command outputs. With `focus`, crashes of other programs (a shared dmesg
    shows every process's, and a container's shows its neighbours') are left out."""
    year = find_year("\n".join(s.output for s in sections)) or (now.year if now else None)
    # The same line pasted twice (in two sections) is one event; the same line twice in one
    # output is two events (a crash loop logs identical exits within a second).
    evidence: dict[tuple[CrashEvidence, int], CrashEvidence] = {}
    facts: list[Fact] = []
    summaries: list[SectionSummary] = []
    for section in sections:
        parsed, names = _parse_section(section, year=year, host=section.host or host)
        for result in parsed:
            seen: dict[CrashEvidence, int] = {}
            for item in result.crashes:
                seen[item] = seen.get(item, 0) + 1
                evidence.setdefault((item, seen[item]), item)
            facts.extend(_named_by_command(result.facts, section.command))
        claimed = frozenset().union(*(r.claimed for r in parsed)) if parsed else frozenset()
        lines = split_records(section.output)
        blank = {i for i, line in enumerate(lines) if not line.strip()}
        total = len(lines)
        summaries.append(
            SectionSummary(
                command=section.command,
                parsers=names,
                lines=total - len(blank),
                recognized=len(claimed - blank),
            )
        )
    facts = list(dict.fromkeys(facts))
    mappings = [f for f in facts if isinstance(f, MemoryMapping)]
    groups, machine = machine_groups_apart(group_evidence(evidence.values()), facts)
    crashes = _with_build_ids(combine_groups(groups, mappings), facts)
    if focus is not None:
        crashes = [c for c in crashes if focus.matches(c)]
        machine = [g for g in machine if focus.matches(_named(g, mappings))]
    machine_lines = len(machine)
    classification = classify(crashes)
    storm = restart_storm(facts)
    health = evidence_health(facts, crashes)
    changes = changes_before_first_crash(facts, crashes)
    primary_signature = None
    report = DecodedReport(
        crashes=tuple(crashes),
        facts=tuple(facts),
        classification=classification,
        signature=None,
        recommendations=recommend(
            crashes=crashes,
            facts=facts,
            storm=storm,
            health=health,
            changes=changes,
            classification=classification,
        ),
        determinism=determinism(crashes, machine_lines=machine_lines),
        health=health,
        restart_storm=storm,
        changes=changes,
        sections=tuple(summaries),
        machine_kernel_lines=machine_lines,
    )
    if report.primary is not None:
        primary_signature = crash_signature(report.primary)
    return replace(report, signature=primary_signature)


def _named(group: list[CrashEvidence], mappings: Sequence[MemoryMapping]) -> _Named:
    """What names the program of a group: its one line as it is (each kernel line is a crash
    of its own), else the merged crash."""
    return group[0] if len(group) == 1 else combine_groups([group], mappings)[0]


def _parse_section(
    section: Section, *, year: int | None, host: str | None
) -> tuple[list[Parsed], tuple[str, ...]]:
    if section.parser is not None:
        spec = PARSERS[section.parser]
        return [spec.parse(section.output, year=year, host=host, expected=True)], (spec.name,)
    routed = parsers_for_command(section.command) if section.command else ()
    results: list[Parsed] = []
    used: list[str] = []
    for name in routed:
        results.append(PARSERS[name].parse(section.output, year=year, host=host, expected=True))
        used.append(name)
    for spec in SELF_IDENTIFYING:
        if spec.name in routed:
            continue
        result = spec.parse(section.output, year=year, host=host)
        if result.claimed:
            results.append(result)
            used.append(spec.name)
    return results, tuple(used)


def _named_by_command(facts: Sequence[Fact], command: str | None) -> list[Fact]:
    """`readelf -n /opt/x` prints no path and `systemctl show x.service` no unit: take them from
    the command line."""
    subject = command_subject(command) if command else None
    if subject is None:
        return list(facts)
    named: list[Fact] = []
    for fact in facts:
        if isinstance(fact, BuildId) and fact.path is None and subject.startswith("/"):
            fact = replace(fact, path=subject)
        elif isinstance(fact, RestartPolicy) and fact.unit is None and "." in subject:
            fact = replace(fact, unit=subject)
        named.append(fact)
    return named


def _with_build_ids(crashes: Sequence[Crash], facts: Sequence[Fact]) -> list[Crash]:
    ids = [f for f in facts if isinstance(f, BuildId)]
    linked: list[Crash] = []
    for crash in crashes:
        if crash.build_id is None and crash.executable:
            match = next((b.build_id for b in ids if b.path == crash.executable), None)
            if match is None and len({b.build_id for b in ids}) == 1 and ids[0].path is None:
                match = ids[0].build_id
            crash = replace(crash, build_id=match) if match else crash
        linked.append(crash)
    return linked

