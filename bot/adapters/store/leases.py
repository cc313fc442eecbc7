"""The Leases port on SQLAlchemy. Times are the database's clock on PostgreSQL, so replicas
whose clocks disagree still agree on when a lease expires.

PostgreSQL: a claim and a fenced write lock the lease row (SELECT ... FOR UPDATE), so a takeover
waits for a write in progress and a write never lands after its lease was taken over.
SQLite serves one replica (serve refuses a second), so there the token is checked just before
the write instead of held across it: one writer at a time, one process.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, Engine, String, cast, exc, literal, select, text, update
from sqlalchemy.orm import Session

from bot.adapters.store.engine import in_transaction, translate_errors
from bot.adapters.store.lease_tables import WorkLeaseRow
from bot.adapters.store.tables import IncidentHostRow, IncidentRow
from bot.app.claims import Lease
from bot.domain.incident import DiagnosisRequest, Status
from bot.errors import StaleLease

FENCES = 3  # fenced blocks at once per process (the pool has 5 connections, 5 more on demand)
# A diagnosis asked for longer ago than this and never run is not started by a sweep: the
# host has moved on since, and a person can ask again.
HORIZON = timedelta(hours=1)
_RERUN = re.compile(r"diagnosis:(\d+):(.+?):again:(.+)")  # bot.app.claims.diagnosis_key
_W = WorkLeaseRow.__table__  # type: ignore[attr-defined]
_H = IncidentHostRow.__table__  # type: ignore[attr-defined]
_I = IncidentRow.__table__  # type: ignore[attr-defined]


class SqlLeases:
    def __init__(self, engine: Engine, *, sole: bool | None = None) -> None:
        self.engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        # SQLite serves one replica (serve refuses a second): another holder's lease there
        # is a dead process's, free at once rather than when it expires.
        self._sole = not self._postgres if sole is None else sole
        # A fenced block holds one pooled connection while its writes take another: bounded,
        # so fenced blocks can never hold every connection and wait for one more.
        self._fences = threading.BoundedSemaphore(FENCES)

    def _now(self, session: Session) -> datetime:
        if self._postgres:
            value = session.execute(text("SELECT clock_timestamp()")).scalar_one()
            assert isinstance(value, datetime)
            return value.astimezone(UTC)
        return datetime.now(UTC)

    def _row(self, session: Session, key: str) -> WorkLeaseRow | None:
        query = select(WorkLeaseRow).where(_W.c.key == key)
        if self._postgres:
            query = query.with_for_update()
        return session.execute(query).scalars().first()

    def claim(self, key: str, *, holder: str, ttl: float) -> Lease | None:
        try:
            with in_transaction(self.engine) as s:
                now = self._now(s)
                row = self._row(s, key)
                expires = now + timedelta(seconds=ttl)
                if row is None:
                    s.add(WorkLeaseRow(key=key, holder=holder[:128], token=1,
                                       expires_at=expires, done=False))
                    s.flush()
                    return Lease(key=key, holder=holder, token=1)
                alive = _aware(row.expires_at) > now and not (self._sole and row.holder != holder)
                if row.done or alive:
                    return None
                token = row.token + 1
                s.execute(update(_W).where(_W.c.key == key).values(
                    holder=holder[:128], token=token, expires_at=expires))
                return Lease(key=key, holder=holder, token=token, taken_over=True,
                             note=row.note)
        except Exception as error:
            if isinstance(getattr(error, "__cause__", None), exc.IntegrityError):
                return None  # another replica inserted it first: theirs
            raise

    def renew(self, lease: Lease, *, ttl: float) -> bool:
        with in_transaction(self.engine) as s:
            now = self._now(s)
            moved = s.execute(update(_W).where(
                _W.c.key == lease.key, _W.c.token == lease.token, _W.c.done.is_(False),
            ).values(expires_at=now + timedelta(seconds=ttl)))
            return bool(moved.rowcount == 1)  # type: ignore[attr-defined]

    def release(self, lease: Lease) -> None:
        with in_transaction(self.engine) as s:
            now = self._now(s)
            s.execute(update(_W).where(_W.c.key == lease.key, _W.c.token == lease.token,
                                       _W.c.done.is_(False)).values(expires_at=now))

    def finish(self, lease: Lease) -> None:
        with in_transaction(self.engine) as s:
            moved = s.execute(update(_W).where(_W.c.key == lease.key,
                                               _W.c.token == lease.token).values(done=True))
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                raise StaleLease(f"lease {lease.key} was taken over")

    @contextmanager
    def fenced(self, lease: Lease, *, finish: bool = False) -> Iterator[None]:
        if not self._postgres:
            self._check(lease)
            yield
            if finish:
                self.finish(lease)
            return
        with self._fences, in_transaction(self.engine) as s:
            row = self._row(s, lease.key)
            if row is None or row.token != lease.token:
                raise StaleLease(f"lease {lease.key} was taken over")
            yield  # the row stays locked until the block's own writes are committed
            if finish:  # in the same transaction: no takeover between the writes and this
                s.execute(update(_W).where(_W.c.key == lease.key).values(done=True))

    def check(self, lease: Lease) -> None:
        self._check(lease)

    def _check(self, lease: Lease) -> None:
        with in_transaction(self.engine) as s:
            token = s.execute(select(_W.c.token).where(_W.c.key == lease.key)).scalar()
        if token != lease.token:
            raise StaleLease(f"lease {lease.key} was taken over")

    def note(self, lease: Lease, text: str) -> None:
        with in_transaction(self.engine) as s:
            moved = s.execute(update(_W).where(_W.c.key == lease.key, _W.c.token == lease.token)
                              .values(note=text[:200]))
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                raise StaleLease(f"lease {lease.key} was taken over")

    def finished(self, key: str) -> bool:
        with in_transaction(self.engine) as s:
            return bool(s.execute(select(_W.c.done).where(_W.c.key == key)).scalar())

    def orphaned_diagnoses(self, *, grace: float, holder: str) -> list[DiagnosisRequest]:
        """Diagnoses of open incidents asked for more than `grace` seconds ago that nobody
        holds and nobody finished: their replica died (or never got to them)."""
        key = literal("diagnosis:") + cast(_H.c.incident_id, String) + literal(":") + _H.c.host
        with translate_errors(), Session(self.engine) as s:
            now = self._now(s)
            dead = _W.c.expires_at < now
            if self._sole:
                dead = dead | (_W.c.holder != holder)
            rows = s.execute(
                select(_H.c.incident_id, _H.c.host, _I.c.service)
                .join(_I, _I.c.id == _H.c.incident_id)
                .outerjoin(_W, _W.c.key == key)
                .where(_I.c.status != Status.RESOLVED.value,
                       _H.c.requested_at < now - timedelta(seconds=grace),
                       _H.c.requested_at > now - HORIZON,
                       _W.c.key.is_(None) | (_W.c.done.is_(False) & dead))
                .order_by(_H.c.incident_id, _H.c.host))
            found = [DiagnosisRequest(r[0], r[1], r[2]) for r in rows]
            return found + self._lapsed_reruns(s, now=now, dead=dead)

    def _lapsed_reruns(self, s: Session, *, now: datetime, dead: ColumnElement[bool]
                       ) -> list[DiagnosisRequest]:
        """Re-runs people asked for whose holder died: their lease is the only record of
        them (claimed when asked), so a lapsed, unfinished one is the work to take over."""
        rows = s.execute(
            select(_W.c.key).where(_W.c.key.like("diagnosis:%:again:%"), _W.c.done.is_(False),
                                   dead, _W.c.expires_at > now - HORIZON)
            .order_by(_W.c.key))
        asked = [m for m in (_RERUN.fullmatch(r[0]) for r in rows) if m is not None]
        open_: dict[int, str] = dict(s.execute(select(_I.c.id, _I.c.service).where(
            _I.c.id.in_({int(m[1]) for m in asked}), _I.c.status != Status.RESOLVED.value)).all())
        return [DiagnosisRequest(int(m[1]), m[2], open_[int(m[1])], again=m[3])
                for m in asked if int(m[1]) in open_]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
