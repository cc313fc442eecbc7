"""The ScheduleStore port on SQLAlchemy: once-only claims (a primary key decides), summary
state and captured messages."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime

from sqlalchemy import Engine, exc, func, select, update
from sqlalchemy.orm import Session

from bot.adapters.store.engine import in_transaction
from bot.adapters.store.schedule_tables import (
    IncidentSummaryRow,
    ScheduledPostRow,
    TimelineCaptureRow,
)
from bot.adapters.store.tables import OccurrenceRow, stored_time
from bot.app.ports.schedule import NewOccurrences, SummaryState

_POST = ScheduledPostRow.__table__  # type: ignore[attr-defined]
_OCC = OccurrenceRow.__table__  # type: ignore[attr-defined]
_SUM = IncidentSummaryRow.__table__  # type: ignore[attr-defined]


class _Lost(Exception):
    """The summary state moved on under us: roll the claim back."""


class SqlScheduleStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _tx(self) -> AbstractContextManager[Session]:
        return in_transaction(self.engine)

    def claim(self, key: str, *, kind: str, incident_id: int | None, at: datetime) -> bool:
        try:
            with self._tx() as s:
                if s.get(ScheduledPostRow, key) is not None:
                    return False
                s.add(ScheduledPostRow(key=key[:200], kind=kind, incident_id=incident_id,
                                       claimed_at=at))
        except exc.IntegrityError:  # another replica inserted it first: theirs
            return False
        return True

    def set_posted(self, key: str, ts: str) -> None:
        with self._tx() as s:
            s.execute(update(_POST).where(_POST.c.key == key[:200]).values(ts=ts))

    def unposted(self, incident_id: int, *, kind: str, since: datetime) -> list[str]:
        with self._tx() as s:
            rows = s.execute(select(_POST.c.key).where(
                _POST.c.incident_id == incident_id, _POST.c.kind == kind,
                _POST.c.ts.is_(None), _POST.c.claimed_at >= since).order_by(_POST.c.claimed_at))
            return [str(r[0]) for r in rows]

    def summary_state(self, incident_id: int) -> SummaryState | None:
        with self._tx() as s:
            row = s.get(IncidentSummaryRow, incident_id)
            if row is None:
                return None
            return SummaryState(incident_id=row.incident_id, number=row.number,
                                last_at=row.last_at, message_ts=row.message_ts,
                                signature=row.signature, occurrences=row.occurrences,
                                hosts=tuple(h for h in row.hosts.split("\n") if h))

    def claim_summary(self, key: str, *, previous: int, state: SummaryState,
                      at: datetime) -> bool:
        # The slot's claim and the summary's new state commit together, and only if the state
        # is still the one the summary was composed from (compare-and-set on its number).
        values = {"number": state.number, "last_at": state.last_at,
                  "message_ts": state.message_ts, "signature": state.signature,
                  "occurrences": state.occurrences, "hosts": "\n".join(state.hosts)}
        try:
            with self._tx() as s:
                if s.get(ScheduledPostRow, key) is not None:
                    return False
                s.add(ScheduledPostRow(key=key[:200], kind="summary",
                                       incident_id=state.incident_id, claimed_at=at))
                if previous == 0:
                    s.add(IncidentSummaryRow(
                        incident_id=state.incident_id, number=state.number,
                        last_at=state.last_at, message_ts=state.message_ts,
                        signature=state.signature, occurrences=state.occurrences,
                        hosts="\n".join(state.hosts)))
                else:
                    moved = s.execute(update(_SUM).where(
                        _SUM.c.incident_id == state.incident_id, _SUM.c.number == previous,
                    ).values(**values))
                    if moved.rowcount != 1:  # type: ignore[attr-defined]
                        raise _Lost
        except (exc.IntegrityError, _Lost):  # another replica got there first: theirs
            return False
        return True

    def set_summary_ts(self, incident_id: int, ts: str) -> None:
        with self._tx() as s:
            s.execute(update(_SUM).where(_SUM.c.incident_id == incident_id)
                      .values(message_ts=ts))

    def occurrences_since(self, incident_id: int, since: datetime) -> list[NewOccurrences]:
        with self._tx() as s:
            rows = s.execute(
                select(_OCC.c.host, _OCC.c.version, func.count())
                .where(_OCC.c.incident_id == incident_id, _OCC.c.received_at > since)
                .group_by(_OCC.c.host, _OCC.c.version)
                .order_by(_OCC.c.host, _OCC.c.version))
            return [NewOccurrences(r[0], r[1], int(r[2])) for r in rows]

    def capture(self, *, channel: str, message_ts: str, incident_id: int, via: str,
                at: datetime) -> bool:
        try:
            with self._tx() as s:
                if s.get(TimelineCaptureRow, (channel, message_ts)) is not None:
                    return False
                s.add(TimelineCaptureRow(channel=channel, message_ts=message_ts,
                                         incident_id=incident_id, via=via, captured_at=at))
        except exc.IntegrityError:  # the reaction and the pin arrived together
            return False
        return True

    def crash_times(self, incident_id: int) -> list[tuple[str, datetime]]:
        with self._tx() as s:
            rows = s.execute(select(_OCC.c.host, _OCC.c.time)
                             .where(_OCC.c.incident_id == incident_id)
                             .order_by(_OCC.c.time, _OCC.c.id))
            return [(r[0], stored_time(r[1])) for r in rows]

    def summary_ts(self, incident_id: int) -> str | None:
        state = self.summary_state(incident_id)
        return state.message_ts if state else None
