"""The lease table: one row per piece of work claimed across replicas (migration 0006)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel

from bot.adapters.store.tables import UtcDateTime


class WorkLeaseRow(SQLModel, table=True):
    """Who holds a piece of work until when; `token` grows with each new holder."""

    __tablename__ = "work_lease"
    key: str = Field(primary_key=True, max_length=200)
    holder: str = Field(max_length=128)
    token: int = Field(sa_type=BigInteger)
    expires_at: datetime = Field(sa_type=UtcDateTime)
    done: bool = False
    note: str | None = Field(default=None, max_length=200)  # for a holder taking over
