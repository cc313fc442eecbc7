"""The slash command table: each `/segfault` that works after its ack, stored before the ack
so a replica dying after it is not a lost request (migration 0008_slashack)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from bot.adapters.store.tables import UtcDateTime


class SlashRequestRow(SQLModel, table=True):
    """A command as typed, and what its recording decided (NULL until it is recorded)."""

    __tablename__ = "slash_request"
    id: str = Field(primary_key=True, max_length=64)
    received_at: datetime = Field(sa_type=UtcDateTime, index=True)
    user_id: str = Field(max_length=64)
    channel: str = Field(max_length=64)
    text: str = Field(sa_type=Text)
    response_url: str | None = Field(default=None, sa_type=Text)
    incident_id: int | None = None  # recorded: the incident it opened or joined
    opened: bool | None = None  # recorded: it opened that incident
    claimed: bool | None = None  # recorded: it claimed the host's diagnosis (else a re-run)
