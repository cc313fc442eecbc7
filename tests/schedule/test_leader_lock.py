"""The PostgreSQL leader lock: one scheduler leads; a leader whose database session is cut
steps down (its jobs stopped) and the lock is retaken; a stopped leader hands over at once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from apscheduler.executors.debug import DebugExecutor
from sqlalchemy import create_engine, text

from bot.adapters.leader_lock import LOCK_KEY, PgAdvisoryLock
from bot.adapters.scheduler import DrivenScheduler, ScheduleDeps, SegbotScheduler
from bot.adapters.store import SqlStore, open_store
from bot.adapters.store.schedule_store import SqlScheduleStore
from bot.adapters.store.slack_store import SqlSlackStore
from bot.config import Schedule
from tests.support.databases import fresh_database


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    for url in fresh_database("postgresql", tmp_path):
        opened = open_store(url)
        yield opened
        opened.engine.dispose()


def _scheduler(store: SqlStore) -> SegbotScheduler:
    deps = ScheduleDeps(store=store, schedule=SqlScheduleStore(store.engine),
                        slack=SqlSlackStore(store.engine), announcer=None,  # type: ignore[arg-type]
                        clock=lambda: datetime.now(UTC))
    return SegbotScheduler(
        deps=deps, options=Schedule(leader_seconds=0.1),
        leadership=PgAdvisoryLock(store.engine),
        scheduler=DrivenScheduler(timezone="UTC", executors={"default": DebugExecutor()}))


def _until(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.05)


def _settled(a: SegbotScheduler, b: SegbotScheduler) -> bool:
    """Exactly one leads, with the jobs; the other has none."""
    jobs = {s.leader: s.job_ids() for s in (a, b)}
    return a.leader != b.leader and jobs == {True: ["reminders", "sync"], False: []}


def _lock_holder(store: SqlStore) -> int | None:
    with store.engine.connect() as connection:
        return connection.execute(text(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = :k AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"),
            {"k": LOCK_KEY}).scalar()


def test_one_leader_steps_down_when_cut_off_and_hands_over_on_stop(store: SqlStore) -> None:
    first, second = _scheduler(store), _scheduler(store)
    first.start()
    _until(lambda: first.leader)
    second.start()
    time.sleep(0.5)  # rounds of 0.1 s: the second has tried for the lock and been refused
    assert first.leader and not second.leader
    assert first.job_ids() == ["reminders", "sync"] and second.job_ids() == []

    holder = _lock_holder(store)
    admin = create_engine(store.engine.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:  # the leader's session dies under it
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": holder})
    admin.dispose()
    # The cut-off leader notices within a round and steps down; whichever then takes the lock
    # (it may be either) is the only one with jobs, and stays so.
    _until(lambda: _settled(first, second) and _lock_holder(store) not in (None, holder))
    time.sleep(0.3)
    assert _settled(first, second)
    now_leading, waiting = (first, second) if first.leader else (second, first)

    now_leading.stop()  # a clean shutdown unlocks: the other takes over within a round
    _until(lambda: waiting.leader, timeout=5)
    assert waiting.job_ids() == ["reminders", "sync"]
    waiting.stop()
    assert _lock_holder(store) is None
