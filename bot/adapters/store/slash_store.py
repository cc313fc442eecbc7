"""The SlashRequests port on SQLAlchemy: a request and its lease written in one transaction
before the ack; the requests whose lease lapsed unfinished, for a replica to take over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from bot.adapters.store.engine import in_transaction
from bot.adapters.store.lease_tables import WorkLeaseRow
from bot.adapters.store.slash_tables import SlashRequestRow
from bot.app.claims import Lease, slash_key
from bot.app.ports.slash import SlashRequest

_W = WorkLeaseRow.__table__  # type: ignore[attr-defined]
_R = SlashRequestRow.__table__  # type: ignore[attr-defined]


class SqlSlashRequests:
    def __init__(self, engine: Engine, *, sole: bool | None = None) -> None:
        self.engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        # As bot.adapters.store.leases: on SQLite (one replica) another holder is a dead
        # process, its requests free at once.
        self._sole = not self._postgres if sole is None else sole

    def _now(self, session: Session) -> datetime:
        if self._postgres:  # the database's clock, as the leases use
            value = session.execute(text("SELECT clock_timestamp()")).scalar_one()
            assert isinstance(value, datetime)
            return value.astimezone(UTC)
        return datetime.now(UTC)

    def receive(self, request: SlashRequest, *, holder: str, ttl: float) -> Lease:
        key = slash_key(request.id)
        with in_transaction(self.engine) as s:
            expires = self._now(s) + timedelta(seconds=ttl)
            s.add(SlashRequestRow(id=request.id, received_at=request.at,
                                  user_id=request.user[:64], channel=request.channel[:64],
                                  text=request.text, response_url=request.response_url))
            s.add(WorkLeaseRow(key=key, holder=holder[:128], token=1, expires_at=expires,
                               done=False))
        return Lease(key=key, holder=holder, token=1)

    def orphaned(self, *, holder: str, since: datetime) -> list[SlashRequest]:
        with in_transaction(self.engine) as s:
            now = self._now(s)
            dead = _W.c.expires_at < now
            if self._sole:
                dead = dead | (_W.c.holder != holder[:128])
            rows = s.execute(
                select(_R.c.id, _R.c.received_at, _R.c.user_id, _R.c.channel, _R.c.text,
                       _R.c.response_url)
                .join(_W, _W.c.key == slash_key("") + _R.c.id)
                .where(_R.c.received_at > since, _W.c.done.is_(False), dead)
                .order_by(_R.c.received_at, _R.c.id))
            return [SlashRequest(id=r[0], at=_aware(r[1]), user=r[2], channel=r[3],
                                 text=r[4], response_url=r[5]) for r in rows]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
