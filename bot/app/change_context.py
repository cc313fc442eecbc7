"""Change findings for an incident's report, as the report is published: the flag service is
asked once per incident, and what the findings conclude (the release, the rollback target,
the suspect commits) goes on the timeline once, so the postmortem carries it too."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from bot.app.changes import ServiceSources, Subject, find_changes, pull_flags
from bot.app.ports.changes import ChangeStore, GitHistory
from bot.app.ports.store import Store
from bot.domain.change_history import ChangeFindings, signature_history
from bot.domain.changes import FlagReport
from bot.domain.incident import Incident, TimelineEvent
from bot.domain.report import DecodedReport

FLAG_RETRY = timedelta(minutes=1)
log = logging.getLogger("segbot.changes")


class ChangeContext:
    def __init__(self, *, store: Store, changes: ChangeStore, git: GitHistory | None,
                 sources: Mapping[str, ServiceSources],
                 lookback: Callable[[str], timedelta] = lambda service: timedelta(hours=24)
                 ) -> None:
        self.store, self.changes, self.git, self.sources = store, changes, git, sources
        self.lookback = lookback
        self._lock = threading.Lock()
        self._pulled: dict[int, tuple[FlagReport | None, str, datetime]] = {}
        self._told: dict[int, set[str]] = {}

    def findings(self, incident: Incident, report: DecodedReport | None,
                 now: datetime) -> ChangeFindings | None:
        """What change history says about `incident`; None when nothing is on record, or
        when reading it failed (logged): the report goes out without it, never held back."""
        try:
            return self._findings(incident, report, now)
        except Exception:
            log.exception("incident %s: change history not read", incident.id)
            return None

    def _findings(self, incident: Incident, report: DecodedReport | None,
                  now: datetime) -> ChangeFindings | None:
        sources = self.sources.get(incident.service, ServiceSources())
        pulled, why = self._flags(incident, report, sources, now)
        detail = self.store.incident_detail(incident.id)
        firsts = [c.first_seen for c in detail.by_host_version] if detail else []
        findings = find_changes(
            store=self.changes, report=report, sources=sources, git=self.git, now=now,
            subject=Subject(incident.service, incident.signature or (
                report.signature if report else None), min(firsts, default=incident.opened_at)),
            lookback=self.lookback(incident.service), pulled=pulled)
        if findings is None:
            return None
        if why:
            findings = replace(findings, notes=(*findings.notes, why))
        self._tell(incident.id, findings, now)
        return findings

    def _flags(self, incident: Incident, report: DecodedReport | None,
               sources: ServiceSources, now: datetime) -> tuple[FlagReport | None, str]:
        with self._lock:
            known = self._pulled.get(incident.id)
        if known is not None and (known[0] is not None or now - known[2] < FLAG_RETRY):
            return known[0], known[1]
        pulled, why = pull_flags(store=self.changes, service=incident.service, sources=sources,
                                 report=report, now=now)
        with self._lock:
            self._pulled[incident.id] = (pulled, why, now)
        return pulled, why

    def _tell(self, incident_id: int, findings: ChangeFindings, now: datetime) -> None:
        """The conclusions on the timeline, each once (a restart re-reads what was said)."""
        lines = [line for line in findings.lines() if line.startswith((
            "the crashing binary", "roll back to", "suspect commit", "signature "))]
        with self._lock:
            told = self._told.get(incident_id)
        if told is None:
            detail = self.store.incident_detail(incident_id)
            told = {e.text for e in detail.timeline if e.kind == "changes"} if detail else set()
        new = [line for line in lines if line not in told]
        if new:
            with self.store.transaction() as tx:
                for line in new:
                    tx.add_event(incident_id, TimelineEvent(now, "changes", line))
        with self._lock:
            self._told[incident_id] = told | set(new)

    def history(self, incident: Incident) -> str | None:
        """The signature's history for the digest ("new in 2.18.7", "seen before in ...")."""
        deploys = [e for e in self.changes.changes(incident.service) if e.kind == "deploy"]
        if not incident.signature or not deploys:
            return None
        running = [d.version for d in deploys if d.time <= incident.opened_at and d.version]
        return signature_history(signature=incident.signature,
                                 current=running[-1] if running else None,
                                 sightings=self.changes.sightings(incident.service),
                                 deploys=deploys).describe()

    def forget(self, incident_id: int) -> None:
        with self._lock:
            self._pulled.pop(incident_id, None)
            self._told.pop(incident_id, None)
