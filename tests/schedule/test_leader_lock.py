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
from store.databases import fresh_database

from bot.adapters.leader_lock import LOCK_KEY, PgAdvisoryLock
from bot.adapters.scheduler import DrivenScheduler, ScheduleDeps, SegbotScheduler
from bot.adapters.store import SqlStore, open_store
from bot.adapters.store.schedule_store import SqlScheduleStore
from bot.adapters.store.slack_store import SqlSlackStore
from bot.config import Schedule


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


def _lock_holder(store: SqlStore) -> int | None:
    with store.engine.connect() as connection:
        return connection.execute(text(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = :k AND granted"),
            {"k": LOCK_KEY}).scalar()


def test_one_leader_steps_down_when_cut_off_and_hands_over_on_stop(store: SqlStore) -> None:
    first, second = _scheduler(store), _scheduler(store)
    first.start()
    _until(lambda: first.leader)
    second.start()
    time.sleep(0.5)
    assert first.leader and not second.leader
    assert first.job_ids() == ["reminders", "sync"] and second.job_ids() == []

    holder = _lock_holder(store)
    admin = create_engine(store.engine.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:  # the leader's session dies under it
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": holder})
    admin.dispose()
    _until(lambda: first.leader != second.leader and _lock_holder(store) not in (None, holder))
    now_leading, waiting = (first, second) if first.leader else (second, first)
    assert waiting.job_ids() == [] and now_leading.job_ids() == ["reminders", "sync"]

    now_leading.stop()  # a clean shutdown unlocks: the other takes over within a round
    _until(lambda: waiting.leader)
    assert waiting.job_ids() == ["reminders", "sync"]
    waiting.stop()
    assert _lock_holder(store) is None
