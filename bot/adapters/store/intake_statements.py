"""The intake's hot statements, run on the database driver's own cursor.

Alert intake runs about seven statements per group commit. Through SQLAlchemy each cost
50-70 us of Python (execution context, parameter processing, and a fresh compile for every
`IN` list length); on the driver's cursor, 3-5 us. That was a third of the intake writer's
CPU, so these few statements are plain SQL. Times still go through the table's column type
(`UtcDateTime`) for the dialect, so they are stored and read exactly as SQLAlchemy does, and
driver errors become StoreError like everywhere else in the store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from bot.adapters.store.tables import UtcDateTime
from bot.domain.alerts import Occurrence
from bot.domain.incident import Status
from bot.errors import StoreError

# A transaction-level advisory lock (PostgreSQL), released by the commit: one intake
# transaction at a time across replicas. 0x5E6B08: next to the scheduler leader's key.
INTAKE_LOCK = text("SELECT pg_advisory_xact_lock(x'5E6B08'::bigint)")

_OPEN = tuple(s.value for s in Status if s is not Status.RESOLVED)
_OCCURRENCE_COLUMNS = (
    "incident_id", "alert_key", "source", "status", "host", "service", "time", "received_at",
    "pid", "signal", "signature", "version", "build_id", "executable", "message",
)
_KNOWN = "SELECT alert_key FROM occurrence WHERE alert_key IN ({})"
_OPEN_FOR = (
    "SELECT id, service, signature, last_seen FROM incident"
    f" WHERE service = ? AND status IN ({', '.join('?' * len(_OPEN))}) ORDER BY id"
)
_CLAIMED = "SELECT host FROM incident_host WHERE incident_id = ? AND host IN ({})"
_INSERT_HOST = (
    "INSERT INTO incident_host (incident_id, host, occurrences, diagnosis, requested_at)"
    " VALUES (?, ?, 0, 'pending', ?)"
)
_INSERT_OCCURRENCE = (
    f"INSERT INTO occurrence ({', '.join(_OCCURRENCE_COLUMNS)})"
    f" VALUES ({', '.join('?' * len(_OCCURRENCE_COLUMNS))})"
)
_BUMP_INCIDENT = (
    "UPDATE incident SET occurrences = occurrences + ?,"
    " last_seen = CASE WHEN last_seen < ? THEN ? ELSE last_seen END, updated_at = ?"
    " WHERE id = ?"
)
_BUMP_HOST = (
    "UPDATE incident_host SET occurrences = occurrences + ? WHERE incident_id = ? AND host = ?"
)
_CHUNK = 500  # keys per IN list: far below every driver's parameter limit


class IntakeStatements:
    """The hot statements on one SQLAlchemy connection's driver connection (same transaction)."""

    def __init__(self, connection: Connection) -> None:
        dialect = connection.dialect
        self._cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        self._errors: type[Exception] = dialect.loaded_dbapi.Error
        self._qmark = dialect.paramstyle == "qmark"
        column_type = UtcDateTime().dialect_impl(dialect)  # with the dialect's own DATETIME
        self._bind_time: Callable[[Any], Any] = (
            column_type.bind_processor(dialect) or (lambda value: value))
        self._read_time: Callable[[Any], Any] = (
            column_type.result_processor(dialect, None) or (lambda value: value))

    def known_keys(self, keys: Iterable[str]) -> set[str]:
        ordered = list(keys)
        found: set[str] = set()
        for start in range(0, len(ordered), _CHUNK):
            chunk = ordered[start : start + _CHUNK]
            found.update(key for (key,) in self._rows(_KNOWN.format(_marks(len(chunk))), chunk))
        return found

    def open_incidents(self, service: str) -> list[tuple[int, str, str | None, datetime]]:
        return [(id_, name, signature, self._read_time(seen))
                for id_, name, signature, seen in self._rows(_OPEN_FOR, (service, *_OPEN))]

    def claimed_hosts(self, incident_id: int, hosts: Sequence[str]) -> set[str]:
        sql = _CLAIMED.format(_marks(len(hosts)))
        return {host for (host,) in self._rows(sql, (incident_id, *hosts))}

    def insert_hosts(self, incident_id: int, hosts: Sequence[str], at: datetime) -> None:
        requested = self._bind_time(at)
        self._many(_INSERT_HOST, [(incident_id, host, requested) for host in hosts])

    def insert_occurrences(
        self, grouped: Sequence[tuple[int, Occurrence]], received_at: datetime
    ) -> None:
        received = self._bind_time(received_at)
        self._many(_INSERT_OCCURRENCE, [
            (incident_id, o.key, o.source, o.status, o.host, o.service, self._bind_time(o.time),
             received, o.pid, o.signal and o.signal[:32], o.signature,
             o.version and o.version[:255], o.build_id and o.build_id[:128], o.executable,
             o.message)
            for incident_id, o in grouped
        ])

    def bump_incidents(self, rows: Iterable[tuple[int, int, datetime]], now: datetime) -> None:
        """Per (incident, new occurrences, latest time seen): count them, move last_seen."""
        updated = self._bind_time(now)
        self._many(_BUMP_INCIDENT, [
            (count, seen, seen, updated, incident_id)
            for incident_id, count, latest in rows
            for seen in (self._bind_time(latest),)
        ])

    def bump_hosts(self, rows: Iterable[tuple[int, str, int]]) -> None:
        """Per (incident, host, new occurrences): count them."""
        self._many(_BUMP_HOST, [(count, incident_id, host) for incident_id, host, count in rows])

    def _rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        try:
            self._cursor.execute(self._sql(sql), params)
            return list(self._cursor.fetchall())
        except self._errors as error:
            raise _store_error(error) from error

    def _many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        try:
            self._cursor.executemany(self._sql(sql), rows)
        except self._errors as error:
            raise _store_error(error) from error

    def _sql(self, sql: str) -> str:
        # Written with ?; the other drivers we ship (psycopg) take %s.
        return sql if self._qmark else sql.replace("?", "%s")


def _marks(count: int) -> str:
    return ", ".join("?" * count)


def _store_error(error: Exception) -> StoreError:
    detail = (str(error).splitlines() or [""])[0]
    return StoreError(f"database error: {type(error).__name__}: {detail}")
