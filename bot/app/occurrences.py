"""Occurrences that do not come from alerts: the crashes a diagnosis found on a host (each once,
with its own time, never twice with an alert for the same crash), and a person's request,
which opens or joins an incident without being a crash itself."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.app.ports.store import RecordedCommand, Store
from bot.domain.crash import Crash
from bot.domain.evidence import Fact
from bot.domain.host_crashes import CrashEvent, Seen, as_occurrences, crash_events, unseen
from bot.domain.incident import DiagnosisRequest, Join, Status, TimelineEvent, group
from bot.domain.report import DecodedReport

# Found crashes further back than this before the newest one are an earlier episode (a core
# kept from last week), not this incident's.
EPISODE = timedelta(hours=1)


@dataclass(frozen=True)
class Asked:
    """A person's command behind a diagnosis request, on the timeline with it; a stored
    slash request (`request_id`) is recorded with it too, so a replay does it once."""

    said: str  # the command as the timeline shows it
    request_id: str | None = None


@dataclass(frozen=True)
class Requested:
    incident_id: int
    opened: bool
    diagnoses: tuple[DiagnosisRequest, ...]


def request_diagnosis(*, store: Store, host: str, service: str, actor: str, now: datetime,
                      window: timedelta, asked: Asked | None = None) -> Requested:
    """`/segfault HOST SERVICE`: the service's incident seen within `window`, or a new one;
    a diagnosis of `host` claimed for it. No occurrence: the diagnosis counts the crashes."""
    with store.transaction() as tx:
        tx.serialize_intake()
        request_id = asked.request_id if asked is not None else None
        done = tx.recorded_command(request_id) if request_id is not None else None
        if done is not None:  # recorded before its replica died: the same answer, once
            return Requested(done.incident_id, done.opened, (
                (DiagnosisRequest(done.incident_id, host, service),) if done.claimed else ()))
        decision = group(service=service, signature=None, time=now,
                         open_incidents=tx.open_incidents(service), window=window)
        opened = not isinstance(decision, Join)
        if isinstance(decision, Join):
            incident_id = decision.incident_id
        else:
            incident_id = tx.create_incident(service=service, signature=None,
                                             status=Status.INVESTIGATING, at=now, seen=now)
            tx.add_event(incident_id, TimelineEvent(
                now, "opened", f"opened to diagnose {service} on {host} (crashes are "
                "counted as the diagnosis finds them)", actor=actor, source="manual"))
            for related in decision.related:
                tx.link_related(incident_id, related)
                tx.add_event(incident_id,
                             TimelineEvent(now, "related", f"related to incident {related}"))
        claimed = tx.claim_diagnoses(incident_id, [host], now)
        for name in claimed:
            tx.add_event(incident_id,
                         TimelineEvent(now, "diagnosis", f"diagnosis requested on {name}"))
        if asked is not None:
            tx.add_event(incident_id, TimelineEvent(now, "command", asked.said, actor=actor,
                                                    source="slack"))
        if request_id is not None:
            tx.record_command(request_id, RecordedCommand(incident_id, opened, bool(claimed)))
    return Requested(incident_id, opened,
                     tuple(DiagnosisRequest(incident_id, name, service) for name in claimed))


def record_found_crashes(*, store: Store, incident_id: int, host: str, service: str,
                         report: DecodedReport, unit: str | None, executable: str | None,
                         now: datetime) -> int:
    """The crashes the diagnosis of `host` found become the incident's occurrences (those no
    stored occurrence already stands for); how many were added."""
    found = crash_events(crashes=report.crashes, facts=report.facts, unit=unit,
                         executable=executable)
    events = [e for e in found if e.time >= found[-1].time - EPISODE] if found else []
    return record_crash_events(store=store, incident_id=incident_id, host=host,
                               service=service, events=events, executable=executable,
                               build_id=_build_id(report.crashes), facts=report.facts,
                               now=now, by="diagnosis", signature=report.signature)


def record_crash_events(*, store: Store, incident_id: int, host: str, service: str,
                        events: Sequence[CrashEvent], now: datetime, by: str,
                        executable: str | None = None, build_id: str | None = None,
                        facts: Sequence[Fact] = (), signature: str | None = None) -> int:
    """Crashes seen on `host` (by a diagnosis, a verification) as occurrences, each once."""
    with store.transaction() as tx:
        incident = tx.incident(incident_id)
        if incident is None:
            return 0
        stored = [Seen(time, pid) for time, pid in tx.occurrences_on(incident_id, host)]
        fresh = as_occurrences(unseen(events, stored), host=host, service=service,
                               signature=incident.signature or signature,
                               executable=executable, build_id=build_id, facts=facts)
        known = tx.known_keys({o.key for o in fresh if o.key})
        fresh = [o for o in fresh if o.key not in known]
        if not fresh:
            return 0
        tx.add_occurrences([(incident_id, o) for o in fresh], now)
        tx.add_event(incident_id, TimelineEvent(
            now, "occurrences", f"{_counted(fresh)} found on {host} by {by} "
            f"(first {fresh[0].time:%H:%M:%S}, last {fresh[-1].time:%H:%M:%S} UTC)",
            source=by))
    return len(fresh)


def _counted(found: Sequence[object]) -> str:
    return "1 crash" if len(found) == 1 else f"{len(found)} crashes"


def _build_id(crashes: Sequence[Crash]) -> str | None:
    return next((c.build_id for c in crashes if c.build_id), None)
