"""The Slack side's tables: where each incident lives in Slack, button proposals, and the
(redacted) command outputs its live report was decoded from, so a restarted bot rebuilds it.

Kept apart from tables.py (the incident store's); the migration is 0002_slack.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from bot.adapters.store.tables import UtcDateTime


class SlackPlaceRow(SQLModel, table=True):
    """One row per incident: its channel and the one report message (ts NULL until posted)."""

    __tablename__ = "slack_place"
    incident_id: int = Field(foreign_key="incident.id", primary_key=True)
    channel: str = Field(max_length=64)
    dedicated: bool = True  # False: a configured shared channel, the report is a thread root
    report_ts: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(sa_type=UtcDateTime)


class SlackProposalRow(SQLModel, table=True):
    """A button's proposal: the exact action and target, its state, who decided it."""

    __tablename__ = "slack_proposal"
    __table_args__ = (Index("ix_slack_proposal_incident_action", "incident_id", "action"),)
    id: str = Field(primary_key=True, max_length=64)
    incident_id: int = Field(foreign_key="incident.id")
    action: str = Field(max_length=64)
    target: str = Field(sa_type=Text)  # JSON object of strings
    state: str = Field(max_length=16)  # open | executing | done | failed | expired | void
    created_at: datetime = Field(sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    outcome: str | None = Field(default=None, sa_type=Text)


class SlackEvidenceRow(SQLModel, table=True):
    """One command's redacted output as it arrived during a diagnosis (report rebuilds)."""

    __tablename__ = "slack_evidence"
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    host: str = Field(max_length=255)
    command: str = Field(sa_type=Text)
    output: str = Field(sa_type=Text)
    at: datetime = Field(sa_type=UtcDateTime)
