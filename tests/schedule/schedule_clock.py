"""The fake clock of the scheduling tests: now is what the test says, and APScheduler's own
`datetime.now` reads it too (the `clock` fixture patches it in)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

T0 = datetime(2026, 1, 22, 3, 0, 0, tzinfo=UTC)


class FakeClock:
    """Now, as the test says; APScheduler's `datetime.now` reads it too (see `clock`)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def at(self, **delta: float) -> datetime:
        self.now = T0 + timedelta(**delta)
        return self.now


def frozen_datetime(clock: Callable[[], datetime]) -> type[datetime]:
    class Frozen(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            value = clock()
            return value.astimezone(tz) if tz is not None else value.replace(tzinfo=None)

    return Frozen
