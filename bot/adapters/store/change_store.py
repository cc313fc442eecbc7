"""The ChangeStore port on SQLAlchemy: change events keyed for dedup, and the crash history
(signature x version x build-id) a service's stored occurrences show."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bot.adapters.store.change_tables import ChangeEventRow
from bot.adapters.store.engine import in_transaction, translate_errors
from bot.adapters.store.tables import IncidentRow, OccurrenceRow, ReportRow, stored_time
from bot.domain.change_history import Sighting
from bot.domain.changes import ChangeEvent

_C = ChangeEventRow.__table__  # type: ignore[attr-defined]
_O = OccurrenceRow.__table__  # type: ignore[attr-defined]
_I = IncidentRow.__table__  # type: ignore[attr-defined]
_R = ReportRow.__table__  # type: ignore[attr-defined]


@dataclass
class _ReportSightings:
    """One service's sightings from decoded reports, by (signature, version, build-id), and
    the last report id read."""

    found: dict[tuple[str, str | None, str | None], Sighting] = field(default_factory=dict)
    last_report: int = 0


class SqlChangeStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        # Decoded reports never change once stored: each is read once.
        self._reports: dict[str, _ReportSightings] = {}

    def add_changes(self, events: Sequence[ChangeEvent], received_at: datetime) -> tuple[int, int]:
        stored = 0
        with in_transaction(self.engine) as s:
            keys = [e.key for e in events]
            known = set(s.execute(select(_C.c.key).where(_C.c.key.in_(keys))).scalars())
            for event in events:
                if event.key in known:
                    continue
                known.add(event.key)
                s.add(_row(event, received_at))
                stored += 1
        return stored, len(events) - stored

    def changes(self, service: str, *, until: datetime | None = None,
                limit: int = 500) -> list[ChangeEvent]:
        query = select(ChangeEventRow).where(_C.c.service == service)
        if until is not None:
            query = query.where(_C.c.time <= until)
        with self._read() as s:
            rows = s.execute(query.order_by(_C.c.time.desc(), _C.c.id.desc())
                             .limit(limit)).scalars()
            return [_event(r) for r in reversed(list(rows))]

    def sightings(self, service: str) -> list[Sighting]:
        """From the occurrences (version, build-id as the alerts said) and from every decoded
        report of the service's incidents (the crash's build-id, the running version)."""
        return self._from_occurrences(service) + self._from_reports(service)

    def _from_reports(self, service: str) -> list[Sighting]:
        query = (select(_R.c.id, _R.c.body, _R.c.created_at, _I.c.signature)
                 .join(_I, _I.c.id == _R.c.incident_id)
                 .where(_I.c.service == service, _I.c.signature.is_not(None)))
        with self._lock:
            seen = self._reports.setdefault(service, _ReportSightings())
            query = query.where(_R.c.id > seen.last_report)
        with self._read() as s:
            rows = list(s.execute(query.order_by(_R.c.id)))
        with self._lock:
            seen = self._reports[service]
            for report_id, body, at, signature in rows:
                if report_id > seen.last_report:
                    for item in _report_sightings(body, signature, stored_time(at)):
                        seen.found[(item.signature, item.version, item.build_id)] = item
                    seen.last_report = report_id
            return list(seen.found.values())

    def _from_occurrences(self, service: str) -> list[Sighting]:
        signature = func.coalesce(_O.c.signature, _I.c.signature)
        query = (select(signature, _O.c.version, _O.c.build_id, func.min(_O.c.time),
                        func.max(_O.c.time), func.count())
                 .join(_I, _I.c.id == _O.c.incident_id)
                 .where(_O.c.service == service, signature.is_not(None))
                 .group_by(signature, _O.c.version, _O.c.build_id))
        with self._read() as s:
            return [Sighting(r[0], r[1], r[2], stored_time(r[3]), stored_time(r[4]), r[5])
                    for r in s.execute(query)]

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with translate_errors(), Session(self.engine) as session:
            yield session


def _row(event: ChangeEvent, received_at: datetime) -> ChangeEventRow:
    return ChangeEventRow(
        key=event.key, service=event.service, kind=event.kind, source=event.source[:32],
        time=event.time, received_at=received_at, version=event.version, commit=event.commit,
        build_ids="\n".join(event.build_ids), sha256="\n".join(event.sha256),
        flag=event.flag, state=event.state, hosts="\n".join(event.hosts), by=event.by,
        url=event.url)


def _event(row: ChangeEventRow) -> ChangeEvent:
    def lines(text: str) -> tuple[str, ...]:
        return tuple(line for line in text.split("\n") if line)

    return ChangeEvent(
        service=row.service, kind=row.kind, time=row.time, source=row.source,  # type: ignore[arg-type]
        version=row.version, commit=row.commit, build_ids=lines(row.build_ids),
        sha256=lines(row.sha256), flag=row.flag, state=row.state, hosts=lines(row.hosts),
        by=row.by, url=row.url, key=row.key)


def _report_sightings(body: str, signature: str, at: datetime) -> list[Sighting]:
    """The crashes' build-ids and the newest deploy marker's version in one stored report."""
    try:
        data = json.loads(body)
    except ValueError:
        return []
    if not isinstance(data, dict):
        return []
    deploys = [f for f in data.get("facts") or [] if isinstance(f, dict)
               and f.get("kind") == "deploy" and isinstance(f.get("version"), str)]
    version = str(max(deploys, key=lambda f: str(f.get("time") or ""))["version"]) \
        if deploys else None
    ids = {c.get("build_id") for c in data.get("crashes") or [] if isinstance(c, dict)
           and isinstance(c.get("build_id"), str)}
    return [Sighting(signature, version, str(b) if b else None, at, at, 1)
            for b in (ids or {None}) if b or version]

