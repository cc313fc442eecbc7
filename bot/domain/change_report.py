"""Change findings folded into a decoded report: deploys and flag flips from change events
join (and outrank) the service's own log markers, so triage and the buttons see them."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.domain.change_history import ChangeFindings
from bot.domain.correlation import Change
from bot.domain.report import DecodedReport
from bot.domain.triage import recommend


def with_findings(report: DecodedReport, findings: ChangeFindings) -> DecodedReport:
    """`report` with the change events before the first crash among its changes (the deploy
    that shipped the crashing binary when the build-id says so), recommendations re-ranked,
    and the rollback target from the signature's history."""

    def minutes(time: datetime) -> float:
        return round((findings.reference - time).total_seconds() / 60, 1)

    events: list[Change] = []
    shipped = findings.binary.deploy if findings.binary is not None else None
    deploys = [e for e in findings.before if e.kind == "deploy" and e.version]
    deploy = shipped or (deploys[0] if deploys else None)
    if deploy is not None and deploy.version:
        detail = ", ".join(part for part in (
            f"git {deploy.commit[:8]}" if deploy.commit else "",
            "build-id matches the crashing binary" if shipped is not None else "",
            f"by {deploy.by}" if deploy.by else "") if part)
        events.append(Change("deploy", deploy.version, detail, deploy.time, minutes(deploy.time)))
    for flag in (e for e in findings.before if e.kind == "flag" and e.state != "off"):
        events.append(Change("feature_flag", flag.flag or "?", flag.state or "changed",
                             flag.time, minutes(flag.time)))
    covered = {c.kind for c in events if c.kind == "deploy"} | {
        f"flag:{c.name}" for c in events if c.kind == "feature_flag"}
    kept = [c for c in report.changes if c.kind not in covered and f"flag:{c.name}" not in covered]
    changes = tuple(sorted(events + kept, key=lambda c: (
        c.minutes_before if c.minutes_before is not None else float("inf"))))
    recommendations = recommend(
        crashes=report.crashes, facts=report.facts, storm=report.restart_storm,
        health=report.health, changes=changes, classification=report.classification)
    return replace(report, changes=changes, recommendations=recommendations,
                   rollback_to=findings.rollback_to or report.rollback_to)
