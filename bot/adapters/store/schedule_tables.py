"""The scheduler's tables: once-only claims of scheduled posts, each incident's summary state,
and the Slack messages captured into timelines (deduplicated). Migration 0004_schedule.

No job state is kept here: the jobs themselves are derived from the incidents at start-up.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from bot.adapters.store.tables import UtcDateTime


class ScheduledPostRow(SQLModel, table=True):
    """One scheduled post (a summary slot, a reminder, a digest day): inserted before posting,
    so across restarts and replicas each key is posted at most once."""

    __tablename__ = "scheduled_post"
    key: str = Field(primary_key=True, max_length=200)
    kind: str = Field(max_length=32)
    incident_id: int | None = Field(default=None, foreign_key="incident.id", index=True)
    claimed_at: datetime = Field(sa_type=UtcDateTime)
    ts: str | None = Field(default=None, max_length=32)  # the Slack message, once posted


class IncidentSummaryRow(SQLModel, table=True):
    """What the last summary of an incident said (the next one tells what changed since)."""

    __tablename__ = "incident_summary"
    incident_id: int = Field(foreign_key="incident.id", primary_key=True)
    number: int = 0
    last_at: datetime = Field(sa_type=UtcDateTime)
    message_ts: str | None = Field(default=None, max_length=32)  # edit mode: the pinned one
    signature: str | None = Field(default=None, max_length=255)
    occurrences: int = 0
    hosts: str = Field(default="", sa_type=Text)  # newline-separated


class TimelineCaptureRow(SQLModel, table=True):
    """A Slack message added to an incident's timeline (📌 or pin); once per message."""

    __tablename__ = "timeline_capture"
    channel: str = Field(primary_key=True, max_length=64)
    message_ts: str = Field(primary_key=True, max_length=32)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    via: str = Field(max_length=16)  # reaction | pin
    captured_at: datetime = Field(sa_type=UtcDateTime)
