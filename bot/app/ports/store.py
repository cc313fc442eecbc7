"""The ports the incident use cases need: the durable store and the diagnosis trigger."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.domain.alerts import Occurrence
from bot.domain.incident import (
    DiagnosisRequest,
    Incident,
    IncidentDetail,
    OpenIncident,
    Role,
    Status,
    TimelineEvent,
)


@dataclass(frozen=True)
class RecordedCommand:
    """What a stored `/segfault HOST SERVICE` did to the store, recorded with it."""

    incident_id: int
    opened: bool  # it opened the incident (else joined one)
    claimed: bool  # it claimed the host's diagnosis (else it asked for a re-run)


class StoreTx(Protocol):
    """One transaction: everything done through it commits together or not at all."""

    def serialize_intake(self) -> None:
        """Hold the intake lock until this transaction ends: replicas sharing one database
        place occurrences one transaction at a time, so two cannot open the same incident."""

    def known_keys(self, keys: Collection[str]) -> set[str]:
        """Which of these dedup keys are already stored."""

    def open_incidents(self, service: str) -> list[OpenIncident]: ...

    def create_incident(
        self, *, service: str, signature: str | None, status: Status, at: datetime, seen: datetime
    ) -> int:
        """A new incident opened `at`, its first occurrence from `seen`."""

    def set_signature(self, incident_id: int, signature: str) -> None: ...

    def link_related(self, incident_id: int, related_id: int) -> None: ...

    def claim_diagnoses(self, incident_id: int, hosts: Collection[str], at: datetime) -> list[str]:
        """Record a pending diagnosis for each host not yet claimed; return those hosts."""

    def add_occurrences(
        self, grouped: Sequence[tuple[int, Occurrence]], received_at: datetime
    ) -> None:
        """Store occurrences (incident id, occurrence) and bump the incidents' counts."""

    def occurrences_on(self, incident_id: int, host: str) -> list[tuple[datetime, int | None]]:
        """(time, pid) of the incident's stored occurrences on `host`."""

    def add_event(self, incident_id: int, event: TimelineEvent) -> None: ...

    def incident(self, incident_id: int) -> Incident | None: ...

    def set_status(self, incident_id: int, status: Status, at: datetime) -> None: ...

    def set_role(self, incident_id: int, role: Role, who: str) -> None: ...

    def audit(self, *, at: datetime, actor: str, action: str, subject: str, detail: str) -> None:
        """Append one line to the audit log (never updated or deleted)."""

    def add_report(self, incident_id: int, host: str, body: str, at: datetime) -> None:
        """Keep a decoded report (decoded-evidence JSON text) from one host."""

    def recorded_command(self, request_id: str) -> RecordedCommand | None:
        """What the stored slash request `request_id` recorded, if it was recorded."""

    def record_command(self, request_id: str, recorded: RecordedCommand) -> None:
        """Mark the stored slash request recorded, with the writes of this transaction."""


class Store(Protocol):
    def transaction(self) -> AbstractContextManager[StoreTx]: ...

    def list_incidents(self, *, limit: int = 200) -> list[Incident]: ...

    def incident_detail(self, incident_id: int) -> IncidentDetail | None: ...

    def pending_diagnoses(self) -> list[DiagnosisRequest]: ...

    def mark_diagnoses_requested(self, requests: Sequence[DiagnosisRequest]) -> None: ...


class DiagnosisTrigger(Protocol):
    """Start "diagnose host X for service Y for incident Z"; must return quickly."""

    def __call__(self, request: DiagnosisRequest) -> None: ...
