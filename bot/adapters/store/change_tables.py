"""Change events (deploys, flag flips, config changes) as the change routes and the flag
service pulls record them. Migration 0005_changes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from bot.adapters.store.tables import UtcDateTime


class ChangeEventRow(SQLModel, table=True):
    __tablename__ = "change_event"
    __table_args__ = (Index("ix_change_event_service_time", "service", "time"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)  # a re-sent event is stored once
    service: str = Field(max_length=64)
    kind: str = Field(max_length=16)  # deploy | flag | config
    source: str = Field(max_length=32)
    time: datetime = Field(sa_type=UtcDateTime)
    received_at: datetime = Field(sa_type=UtcDateTime)
    version: str | None = Field(default=None, max_length=64)
    commit: str | None = Field(default=None, max_length=64)
    build_ids: str = Field(default="", sa_type=Text)  # newline-separated
    sha256: str = Field(default="", sa_type=Text)
    flag: str | None = Field(default=None, max_length=128)
    state: str | None = Field(default=None, max_length=64)
    hosts: str = Field(default="", sa_type=Text)
    by: str | None = Field(default=None, max_length=256)
    url: str | None = Field(default=None, sa_type=Text)
