"""The Store port on SQLAlchemy: one transaction object for writes, read models for the CLI."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from bot.adapters.store.engine import database_url, in_transaction, open_engine, translate_errors
from bot.adapters.store.intake_statements import INTAKE_LOCK, IntakeStatements
from bot.adapters.store.slash_tables import SlashRequestRow
from bot.adapters.store.tables import (
    AuditRow,
    IncidentHostRow,
    IncidentLinkRow,
    IncidentRoleRow,
    IncidentRow,
    OccurrenceRow,
    ReportRow,
    TimelineRow,
    stored_time,
)
from bot.app.ports.store import RecordedCommand
from bot.domain.alerts import Occurrence
from bot.domain.incident import (
    DiagnosisRequest,
    HostDiagnosis,
    HostVersionCount,
    Incident,
    IncidentDetail,
    OpenIncident,
    Role,
    Status,
    TimelineEvent,
)


class SqlTx:
    """StoreTx on one SQLAlchemy session; alert intake's statements run on its driver cursor."""

    def __init__(self, session: Session) -> None:
        self._s = session
        self._intake: IntakeStatements | None = None

    @property
    def _hot(self) -> IntakeStatements:
        if self._intake is None:
            self._intake = IntakeStatements(self._s.connection())
        return self._intake

    def serialize_intake(self) -> None:
        # SQLite's BEGIN IMMEDIATE already holds the one write lock from the first statement.
        connection = self._s.connection()
        if connection.dialect.name == "postgresql":
            connection.execute(INTAKE_LOCK)

    def known_keys(self, keys: Collection[str]) -> set[str]:
        return self._hot.known_keys(keys)

    def open_incidents(self, service: str) -> list[OpenIncident]:
        return self._hot.open_incidents(service)

    def create_incident(
        self, *, service: str, signature: str | None, status: Status, at: datetime, seen: datetime
    ) -> int:
        row = IncidentRow(
            service=service,
            signature=signature,
            status=status.value,
            opened_at=at,
            updated_at=at,
            last_seen=seen,
        )
        self._s.add(row)
        self._s.flush()
        assert row.id is not None
        return row.id

    def set_signature(self, incident_id: int, signature: str) -> None:
        self._update_incident(incident_id, signature=signature)

    def link_related(self, incident_id: int, related_id: int) -> None:
        self._s.add(IncidentLinkRow(incident_id=incident_id, related_id=related_id))
        self._s.flush()

    def claim_diagnoses(self, incident_id: int, hosts: Collection[str], at: datetime) -> list[str]:
        have = self._hot.claimed_hosts(incident_id, list(hosts))
        new = [h for h in hosts if h not in have]
        self._hot.insert_hosts(incident_id, new, at)
        return new

    def add_occurrences(
        self, grouped: Sequence[tuple[int, Occurrence]], received_at: datetime
    ) -> None:
        self._hot.insert_occurrences(grouped, received_at)
        per_incident: Counter[int] = Counter(i for i, _ in grouped)
        per_host: Counter[tuple[int, str]] = Counter((i, o.host) for i, o in grouped)
        latest: dict[int, datetime] = {}
        for incident_id, occurrence in grouped:
            latest[incident_id] = max(latest.get(incident_id, occurrence.time), occurrence.time)
        self._hot.bump_incidents(
            ((i, n, latest[i]) for i, n in per_incident.items()), received_at)
        self._hot.bump_hosts((i, h, n) for (i, h), n in per_host.items())

    def occurrences_on(self, incident_id: int, host: str) -> list[tuple[datetime, int | None]]:
        o = OccurrenceRow.__table__.c  # type: ignore[attr-defined]
        rows = self._s.execute(
            select(o.time, o.pid).where(o.incident_id == incident_id, o.host == host))
        return [(time, pid) for time, pid in rows]

    def add_event(self, incident_id: int, event: TimelineEvent) -> None:
        self._s.add(
            TimelineRow(
                incident_id=incident_id,
                time=event.time,
                kind=event.kind,
                actor=event.actor[:255],
                source=event.source[:64],
                text=event.text,
            )
        )

    def incident(self, incident_id: int) -> Incident | None:
        row = self._s.get(IncidentRow, incident_id)
        return None if row is None else _incident(self._s, row)

    def set_status(self, incident_id: int, status: Status, at: datetime) -> None:
        self._update_incident(incident_id, status=status.value, updated_at=at)

    def set_role(self, incident_id: int, role: Role, who: str) -> None:
        row = self._s.get(IncidentRoleRow, (incident_id, role.value))
        if row is None:
            self._s.add(IncidentRoleRow(incident_id=incident_id, role=role.value, who=who))
        else:
            row.who = who
        self._s.flush()

    def audit(self, *, at: datetime, actor: str, action: str, subject: str, detail: str) -> None:
        self._s.add(AuditRow(time=at, actor=actor, action=action, subject=subject, detail=detail))

    def add_report(self, incident_id: int, host: str, body: str, at: datetime) -> None:
        self._s.add(ReportRow(incident_id=incident_id, host=host, created_at=at, body=body))

    def recorded_command(self, request_id: str) -> RecordedCommand | None:
        row = self._s.get(SlashRequestRow, request_id)
        if row is None or row.incident_id is None:
            return None
        return RecordedCommand(row.incident_id, bool(row.opened), bool(row.claimed))

    def record_command(self, request_id: str, recorded: RecordedCommand) -> None:
        table = SlashRequestRow.__table__  # type: ignore[attr-defined]
        self._s.execute(update(table).where(table.c.id == request_id).values(
            incident_id=recorded.incident_id, opened=recorded.opened, claimed=recorded.claimed))

    def _update_incident(self, incident_id: int, **values: Any) -> None:
        table = IncidentRow.__table__  # type: ignore[attr-defined]
        self._s.execute(update(table).where(table.c.id == incident_id).values(**values))


class SqlStore:
    """The Store port: `transaction()` for writes, read models for listing and detail."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def transaction(self) -> Iterator[SqlTx]:
        with in_transaction(self.engine) as session:
            yield SqlTx(session)

    def list_incidents(self, *, limit: int = 200) -> list[Incident]:
        with self._read() as s:
            rows = s.execute(
                select(IncidentRow).order_by(IncidentRow.id.desc()).limit(limit)  # type: ignore[union-attr]
            ).scalars()
            return [_incident(s, row) for row in rows]

    def incident_detail(self, incident_id: int) -> IncidentDetail | None:
        with self._read() as s:
            row = s.get(IncidentRow, incident_id)
            if row is None:
                return None
            o = OccurrenceRow.__table__.c  # type: ignore[attr-defined]
            counts = s.execute(
                select(o.host, o.version, func.count(), func.min(o.time), func.max(o.time))
                .where(o.incident_id == incident_id)
                .group_by(o.host, o.version)
                .order_by(o.host, o.version)
            )
            by_host = tuple(
                HostVersionCount(r[0], r[1], r[2], stored_time(r[3]), stored_time(r[4]))
                for r in counts
            )
            h = IncidentHostRow.__table__.c  # type: ignore[attr-defined]
            diagnoses = tuple(
                HostDiagnosis(r.host, r.diagnosis, r.requested_at)
                for r in s.execute(
                    select(IncidentHostRow).where(h.incident_id == incident_id).order_by(h.host)
                ).scalars()
            )
            t = TimelineRow.__table__.c  # type: ignore[attr-defined]
            timeline = tuple(
                TimelineEvent(r.time, r.kind, r.text, r.actor, r.source)
                for r in s.execute(
                    select(TimelineRow).where(t.incident_id == incident_id).order_by(t.time, t.id)
                ).scalars()
            )
            rp = ReportRow.__table__.c  # type: ignore[attr-defined]
            reports = tuple(
                (r.host, r.body)
                for r in s.execute(
                    select(ReportRow).where(rp.incident_id == incident_id).order_by(rp.id)
                ).scalars()
            )
            rr = IncidentRoleRow.__table__.c  # type: ignore[attr-defined]
            roles = tuple(
                (Role(r.role), r.who)
                for r in s.execute(
                    select(IncidentRoleRow).where(rr.incident_id == incident_id)
                ).scalars()
            )
            return IncidentDetail(_incident(s, row), by_host, diagnoses, timeline, reports, roles)

    def pending_diagnoses(self) -> list[DiagnosisRequest]:
        with self._read() as s:
            h = IncidentHostRow.__table__.c  # type: ignore[attr-defined]
            i = IncidentRow.__table__.c  # type: ignore[attr-defined]
            rows = s.execute(
                select(h.incident_id, h.host, i.service)
                .join(IncidentRow.__table__, i.id == h.incident_id)  # type: ignore[attr-defined]
                .where(h.diagnosis == "pending")
                .order_by(h.incident_id, h.host)
            )
            return [DiagnosisRequest(r[0], r[1], r[2]) for r in rows]

    def mark_diagnoses_requested(self, requests: Sequence[DiagnosisRequest]) -> None:
        table = IncidentHostRow.__table__  # type: ignore[attr-defined]
        with self.transaction() as tx:
            for request in requests:
                tx._s.execute(
                    update(table)
                    .where(table.c.incident_id == request.incident_id, table.c.host == request.host)
                    .values(diagnosis="requested")
                )

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with translate_errors(), Session(self.engine) as session:
            yield session


def open_store(url: str | None = None) -> SqlStore:
    """The store at `url` (default: SEGBOT_DATABASE_URL or the data directory), migrated."""
    return SqlStore(open_engine(url or database_url()))


def _incident(session: Session, row: IncidentRow) -> Incident:
    assert row.id is not None
    h = IncidentHostRow.__table__.c  # type: ignore[attr-defined]
    hosts = tuple(
        session.execute(select(h.host).where(h.incident_id == row.id).order_by(h.host)).scalars()
    )
    link = IncidentLinkRow.__table__.c  # type: ignore[attr-defined]
    related = set(
        session.execute(select(link.related_id).where(link.incident_id == row.id)).scalars()
    ) | set(session.execute(select(link.incident_id).where(link.related_id == row.id)).scalars())
    role = session.get(IncidentRoleRow, (row.id, Role.COMMANDER.value))
    return Incident(
        id=row.id,
        service=row.service,
        signature=row.signature,
        status=Status(row.status),
        occurrences=row.occurrences,
        hosts=hosts,
        opened_at=stored_time(row.opened_at),
        last_seen=stored_time(row.last_seen),
        commander=role.who if role else None,
        related=tuple(sorted(related)),
    )
