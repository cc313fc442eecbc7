"""The report's conclusions drawn again after its crashes changed (symbolized frames name
sites that bare offsets did not)."""

from __future__ import annotations

from dataclasses import replace

from bot.domain.classify import classify
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
        determinism=determinism(crashes),
        recommendations=recommend(
            crashes=crashes, facts=report.facts, storm=report.restart_storm,
            health=report.health, changes=report.changes, classification=classification),
    )
    primary = concluded.primary
    return replace(concluded, signature=crash_signature(primary) if primary else None)
