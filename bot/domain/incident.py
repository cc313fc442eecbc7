"""Incidents as values: lifecycle, roles, timeline events, and where an occurrence belongs.

Grouping is by what crashed (service + crash signature), not by alert labels: a crash loop on
twenty hosts is one incident with thousands of occurrences, not thousands of incidents.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Status(StrEnum):
    INVESTIGATING = "investigating"
    CONTAINED = "contained"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


class Role(StrEnum):
    COMMANDER = "commander"
    SCRIBE = "scribe"
    COMMUNICATIONS = "communications"


# Any open state may move to any other; a resolved incident only reopens to investigating.
_ALLOWED: dict[Status, frozenset[Status]] = {
    Status.INVESTIGATING: frozenset({Status.CONTAINED, Status.MONITORING, Status.RESOLVED}),
    Status.CONTAINED: frozenset({Status.INVESTIGATING, Status.MONITORING, Status.RESOLVED}),
    Status.MONITORING: frozenset({Status.INVESTIGATING, Status.CONTAINED, Status.RESOLVED}),
    Status.RESOLVED: frozenset({Status.INVESTIGATING}),
}


def can_change(old: Status, new: Status) -> bool:
    """Whether an incident in `old` may be moved to `new` (a no-op change is refused)."""
    return new in _ALLOWED[old]


def is_open(status: Status) -> bool:
    return status is not Status.RESOLVED


@dataclass(frozen=True)
class TimelineEvent:
    """One line of the incident's timeline (what happened, who or what did it, from where)."""

    time: datetime
    kind: str
    text: str
    actor: str = "segbot"
    source: str = "segbot"


@dataclass(frozen=True)
class OpenIncident:
    """What grouping needs to know about an open incident."""

    id: int
    service: str
    signature: str | None
    last_seen: datetime


@dataclass(frozen=True)
class Join:
    """The occurrence belongs to `incident_id`; `rekey_to` is its newly learnt signature."""

    incident_id: int
    rekey_to: str | None = None


@dataclass(frozen=True)
class OpenNew:
    """The occurrence starts a new incident, linked as related to `related` (same service)."""

    signature: str | None
    related: tuple[int, ...] = ()


def group(
    *,
    service: str,
    signature: str | None,
    time: datetime,
    open_incidents: Sequence[OpenIncident],
    window: timedelta,
) -> Join | OpenNew:
    """Where an occurrence of `service` with `signature` (None: not known yet) belongs.

    - same service and signature: join that incident, however old;
    - signature known, an unsigned incident of the service seen within `window`: join it, and
      it takes the signature (it was waiting for diagnosis to name it);
    - signature unknown: join the service's incident seen most recently within `window`;
    - otherwise a new incident, related to the service's other open incidents.
    """
    same_service = [i for i in open_incidents if i.service == service]
    if signature is not None:
        for incident in same_service:
            if incident.signature == signature:
                return Join(incident.id)
        unsigned = _latest(
            [i for i in same_service if i.signature is None and _near(i, time, window)]
        )
        if unsigned is not None:
            return Join(unsigned.id, rekey_to=signature)
        return OpenNew(signature, tuple(sorted(i.id for i in same_service)))
    recent = _latest([i for i in same_service if _near(i, time, window)])
    if recent is not None:
        return Join(recent.id)
    return OpenNew(None, tuple(sorted(i.id for i in same_service)))


def _near(incident: OpenIncident, time: datetime, window: timedelta) -> bool:
    return abs(time - incident.last_seen) <= window


def _latest(incidents: Sequence[OpenIncident]) -> OpenIncident | None:
    return max(incidents, key=lambda i: (i.last_seen, i.id), default=None)


@dataclass(frozen=True)
class Incident:
    """An incident as listed: the fields `segbot incidents --json` promises."""

    id: int
    service: str
    signature: str | None
    status: Status
    occurrences: int
    hosts: tuple[str, ...]
    opened_at: datetime
    last_seen: datetime
    commander: str | None = None
    related: tuple[int, ...] = ()


@dataclass(frozen=True)
class HostVersionCount:
    host: str
    version: str | None
    occurrences: int
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True)
class HostDiagnosis:
    host: str
    state: str  # pending (claimed, not yet handed to diagnose) | requested
    requested_at: datetime


@dataclass(frozen=True)
class IncidentDetail:
    """An incident with its occurrences by host and version, diagnoses, reports and timeline."""

    incident: Incident
    by_host_version: tuple[HostVersionCount, ...]
    diagnoses: tuple[HostDiagnosis, ...]
    timeline: tuple[TimelineEvent, ...]
    reports: tuple[tuple[str, str], ...] = ()  # (host, decoded report JSON text)
    roles: tuple[tuple[Role, str], ...] = ()


@dataclass(frozen=True)
class DiagnosisRequest:
    """ "Diagnose `host` for `service` for incident `incident_id`", at most once per host."""

    incident_id: int
    host: str
    service: str
    again: str = ""  # set when a person asks again: names that run, claimed apart
