"""Containment actions: one row per action (its id is the proposal id and the Idempotency-Key),
written as the intent before anything is done and finished with what became of it.

Kept apart from tables.py and slack_tables.py; the migration is 0003_actions.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from bot.adapters.store.tables import UtcDateTime


class ContainmentActionRow(SQLModel, table=True):
    __tablename__ = "containment_action"
    __table_args__ = (Index("ix_containment_action_state", "state"),)
    id: str = Field(max_length=64, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    action: str = Field(max_length=64)
    target: str = Field(sa_type=Text)  # JSON object of strings
    requested_by: str = Field(max_length=64)
    state: str = Field(max_length=16)  # executing | succeeded | failed | unknown
    detail: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(sa_type=UtcDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    verify_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    verdict: str | None = Field(default=None, sa_type=Text)


class ActionApprovalRow(SQLModel, table=True):
    """A rollback that waits for a second approver: who asked first, and when."""

    __tablename__ = "containment_approval"
    proposal_id: str = Field(max_length=64, primary_key=True)
    requested_by: str = Field(max_length=64)
    requested_at: datetime = Field(sa_type=UtcDateTime)
