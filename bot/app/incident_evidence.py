"""An incident's diagnoses kept in the store and read back: what a finished diagnosis records
(its decoded report, signature, the crashes it found, the evidence files for the thread), and
what rebuilding the live report needs (stored outputs, each host's focus, stored reports)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.app.diagnose import HostDiagnosis
from bot.app.diagnosis_feed import DiagnosisSetup, evidence_text, focus_of
from bot.app.fleet import FLEET_OVER, FLEET_TABLE, progress_table
from bot.app.incidents import learn_signature, record_report
from bot.app.occurrences import record_found_crashes
from bot.app.ports.store import Store
from bot.app.report_view import ReportBook
from bot.domain.decode import Focus
from bot.domain.incident import DiagnosisRequest, Incident, TimelineEvent
from bot.domain.mrkdwn import escape
from bot.domain.report_json import report_to_dict


def record_diagnosis(*, store: Store, setup: DiagnosisSetup, book: ReportBook,
                     request: DiagnosisRequest, diagnosis: HostDiagnosis,
                     now: datetime) -> str | None:
    """Store a finished diagnosis and queue its files for the thread; its signature."""
    incident_id, host = request.incident_id, request.host
    signature = diagnosis.report.signature if diagnosis.report else None
    if diagnosis.report is not None:
        record_report(store=store, incident_id=incident_id, host=host, now=now,
                      report_json=json.dumps(report_to_dict(diagnosis.report), default=str))
    if signature:
        learn_signature(store=store, incident_id=incident_id, signature=signature, now=now)
    if diagnosis.report is not None:  # what happened on the host, not when we asked
        inventory = setup.inventory(host, request.service)
        record_found_crashes(store=store, incident_id=incident_id, host=host,
                             service=request.service, report=diagnosis.report,
                             unit=inventory.unit, executable=inventory.binary, now=now)
    text = f"diagnosis of {escape(host)} finished" + (
        f": {escape(signature)}" if signature else "") + (
        f" (stopped early: {diagnosis.error})" if diagnosis.error else "")
    with store.transaction() as tx:
        tx.add_event(incident_id, TimelineEvent(now, "diagnosis", text, actor="segbot",
                                                source="slack"))
    book.attach(incident_id, f"evidence-{host}.txt",
                f"{host}: every playbook step and its output", evidence_text(diagnosis))
    _, _, hosts, files = book.snapshot(incident_id)
    if len(hosts) > FLEET_OVER and all(h.finished for h in hosts) and FLEET_TABLE not in files:
        book.attach(incident_id, FLEET_TABLE, "every host's diagnosis", progress_table(hosts))
    return signature


@dataclass(frozen=True)
class Stored:
    """What the store keeps of an incident's diagnoses, to rebuild its live report from."""

    outputs: list[tuple[str, str, str]]  # (host, command, output)
    focus: dict[str, Focus | None]  # each host's program, as diagnose decodes
    reports: dict[str, str]  # host -> decoded report JSON (with its symbolized frames)


def stored_evidence(*, store: Store, setup: DiagnosisSetup | None,
                    services: Mapping[str, Sequence[str]], incident: Incident,
                    outputs: list[tuple[str, str, str]]) -> Stored:
    """With `outputs`, the incident's stored command outputs (SlackStore.evidence)."""
    focus: dict[str, Focus | None] = {}
    for host in {row[0] for row in outputs}:
        known = setup is not None and host in services.get(incident.service, ())
        focus[host] = (focus_of(setup.inventory(host, incident.service))
                       if known and setup is not None else None)
    detail = store.incident_detail(incident.id)
    return Stored(outputs, focus, dict(detail.reports) if detail is not None else {})
