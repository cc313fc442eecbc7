"""The database tables (sqlmodel); domain values are built from them in sql_store.py.

Every change here needs a migration in migrations/versions (tests compare the two).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Index, Text, TypeDecorator
from sqlmodel import Field, SQLModel

from bot.domain.timestamps import as_utc


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite (naive) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return as_utc(value)


def stored_time(value: Any) -> datetime:
    """A time read back from the store, in UTC: SQLite aggregates (min/max) come back as text."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return as_utc(value)


def _time(**kwargs: Any) -> Any:
    return Field(sa_type=UtcDateTime, **kwargs)


class IncidentRow(SQLModel, table=True):
    __tablename__ = "incident"
    __table_args__ = (Index("ix_incident_service_status", "service", "status"),)
    id: int | None = Field(default=None, primary_key=True)
    service: str = Field(max_length=255)
    signature: str | None = Field(default=None, max_length=255)
    status: str = Field(max_length=32)
    opened_at: datetime = _time()
    updated_at: datetime = _time()
    last_seen: datetime = _time()
    occurrences: int = 0


class IncidentLinkRow(SQLModel, table=True):
    __tablename__ = "incident_link"
    incident_id: int = Field(foreign_key="incident.id", primary_key=True)
    related_id: int = Field(foreign_key="incident.id", primary_key=True)


class IncidentRoleRow(SQLModel, table=True):
    __tablename__ = "incident_role"
    incident_id: int = Field(foreign_key="incident.id", primary_key=True)
    role: str = Field(max_length=32, primary_key=True)
    who: str = Field(max_length=255)


class OccurrenceRow(SQLModel, table=True):
    __tablename__ = "occurrence"
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    alert_key: str | None = Field(default=None, max_length=80, unique=True)
    source: str = Field(max_length=32)
    status: str = Field(max_length=16)
    host: str = Field(max_length=255)
    service: str = Field(max_length=255)
    time: datetime = _time()
    received_at: datetime = _time()
    pid: int | None = None
    signal: str | None = Field(default=None, max_length=32)
    signature: str | None = Field(default=None, max_length=255)
    version: str | None = Field(default=None, max_length=255)
    build_id: str | None = Field(default=None, max_length=128)
    executable: str | None = Field(default=None, sa_type=Text)
    message: str | None = Field(default=None, sa_type=Text)


class IncidentHostRow(SQLModel, table=True):
    """Per incident and host: the occurrence count and the once-per-host diagnosis."""

    __tablename__ = "incident_host"
    incident_id: int = Field(foreign_key="incident.id", primary_key=True)
    host: str = Field(max_length=255, primary_key=True)
    occurrences: int = 0
    diagnosis: str = Field(max_length=16)  # pending | requested
    requested_at: datetime = _time()


class TimelineRow(SQLModel, table=True):
    __tablename__ = "timeline_event"
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    time: datetime = _time()
    kind: str = Field(max_length=32)
    actor: str = Field(max_length=255)
    source: str = Field(max_length=64)
    text: str = Field(sa_type=Text)



class ReportRow(SQLModel, table=True):
    """A decoded report (schemas/decoded-evidence JSON) for one host of an incident."""

    __tablename__ = "decoded_report"
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    host: str = Field(max_length=255)
    created_at: datetime = _time()
    body: str = Field(sa_type=Text)



class AuditRow(SQLModel, table=True):
    """Append-only audit log: who did what to what, when."""

    __tablename__ = "audit_log"
    id: int | None = Field(default=None, primary_key=True)
    time: datetime = _time()
    actor: str = Field(max_length=255)
    action: str = Field(max_length=64)
    subject: str = Field(max_length=255)
    detail: str = Field(sa_type=Text)
