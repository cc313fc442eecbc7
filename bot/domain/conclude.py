"""The report's conclusions drawn again after its crashes changed (symbolized frames name
sites that bare offsets did not)."""

from __future__ import annotations

from dataclasses import replace

from bot.domain.classify import classify
from bot.domain.evidence import CoreLimit, RestartCounter, RestartPolicy
from bot.domain.health import evidence_health, restart_storm
from bot.domain.parsers import systemctl_show
from bot.domain.report import DecodedReport
from bot.domain.signature import crash_signature
from bot.domain.triage import determinism, recommend


def reconclude(report: DecodedReport) -> DecodedReport:
    """Classification, determinism, recommendations and signature from the current crashes."""
    crashes = report.crashes
    classification = classify(crashes)
    concluded = replace(
        report,
        classification=classification,
        determinism=determinism(crashes, machine_lines=report.machine_kernel_lines),
        recommendations=recommend(
            crashes=crashes, facts=report.facts, storm=report.restart_storm,
            health=report.health, changes=report.changes, classification=classification),
    )
    primary = concluded.primary
    return replace(concluded, signature=crash_signature(primary) if primary else None)


def with_unit_state(report: DecodedReport, show: str) -> DecodedReport:
    """The report after an action changed the unit: `show` (`systemctl show` output, re-read
    after the change) replaces the restart policy and core limit read before it."""
    fresh = systemctl_show.parse(show).facts
    if not fresh:
        return report
    # The journal's restart counters are history; the unit's NRestarts is the loop now.
    stale = (RestartPolicy, CoreLimit, RestartCounter)
    facts = (*(f for f in report.facts
               if not (isinstance(f, stale)
                       and f.source in {"systemctl show", "journal", "/proc/limits"})),
             *fresh)
    health = evidence_health(facts, report.crashes)
    return reconclude(replace(report, facts=facts, restart_storm=restart_storm(facts),
                              health=health))


def core_preserved(report: DecodedReport) -> DecodedReport:
    """The report once segbot itself copied the core off the host and verified the copy:
    "copy it off the host now" is done, not advice."""
    kept = [r for r in report.recommendations if r.action != "preserve_core"]
    if len(kept) == len(report.recommendations):
        return report
    return replace(report, recommendations=tuple(
        replace(r, priority=n) for n, r in enumerate(kept, start=1)))
