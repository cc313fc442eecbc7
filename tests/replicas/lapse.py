"""A replica dying, as the store sees it: its lease's expiry set in the past, not waited for."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, text

LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def lease_lapses(engine: Engine, key: str, at: datetime = LONG_AGO) -> None:
    """The holder of `key` died: its lease ran out at `at`."""
    with engine.begin() as connection:
        connection.execute(text("UPDATE work_lease SET expires_at = :t WHERE key = :k"),
                           {"t": at, "k": key})
