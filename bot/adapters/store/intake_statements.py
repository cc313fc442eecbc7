"""The intake's hot statements, built once (building SQLAlchemy expressions per call cost more
than executing them), and the row values of an occurrence."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, insert, select, text, update

from bot.adapters.store.tables import IncidentHostRow, IncidentRow, OccurrenceRow, UtcDateTime
from bot.domain.alerts import Occurrence
from bot.domain.incident import Status

_OPEN = [s.value for s in Status if s is not Status.RESOLVED]
_I = IncidentRow.__table__  # type: ignore[attr-defined]
_O = OccurrenceRow.__table__  # type: ignore[attr-defined]
_H = IncidentHostRow.__table__  # type: ignore[attr-defined]
KNOWN = select(_O.c.alert_key).where(_O.c.alert_key.in_(bindparam("keys", expanding=True)))
OPEN_FOR = (
    select(_I.c.id, _I.c.service, _I.c.signature, _I.c.last_seen)
    .where(_I.c.service == bindparam("service"), _I.c.status.in_(_OPEN))
    .order_by(_I.c.id)
)
CLAIMED = select(_H.c.host).where(
    _H.c.incident_id == bindparam("incident"), _H.c.host.in_(bindparam("hosts", expanding=True))
)
# A transaction-level advisory lock (PostgreSQL), released by the commit: one intake
# transaction at a time across replicas. 0x5E6B08: next to the scheduler leader's key.
INTAKE_LOCK = text("SELECT pg_advisory_xact_lock(x'5E6B08'::bigint)")
INSERT_OCCURRENCE = insert(_O)
INSERT_HOST = insert(_H)
_SEEN = bindparam("seen", type_=UtcDateTime)
BUMP_INCIDENT = (
    update(_I)
    .where(_I.c.id == bindparam("incident"))
    .values(
        occurrences=_I.c.occurrences + bindparam("count"),
        last_seen=case((_I.c.last_seen < _SEEN, _SEEN), else_=_I.c.last_seen),
        updated_at=bindparam("now", type_=UtcDateTime),
    )
)
BUMP_HOST = (
    update(_H)
    .where(_H.c.incident_id == bindparam("incident"), _H.c.host == bindparam("name"))
    .values(occurrences=_H.c.occurrences + bindparam("count"))
)


def occurrence_values(incident_id: int, o: Occurrence, received_at: datetime) -> dict[str, Any]:
    return {
        "incident_id": incident_id,
        "alert_key": o.key,
        "source": o.source,
        "status": o.status,
        "host": o.host,
        "service": o.service,
        "time": o.time,
        "received_at": received_at,
        "pid": o.pid,
        "signal": o.signal and o.signal[:32],
        "signature": o.signature,
        "version": o.version and o.version[:255],
        "build_id": o.build_id and o.build_id[:128],
        "executable": o.executable,
        "message": o.message,
    }
