"""Leases with fencing on the real databases: one holder at a time, a dead holder's lease is
taken over once it expires, and the old holder's writes are refused from then on."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.adapters.store import open_engine
from bot.adapters.store.leases import SqlLeases
from bot.app.claims import Heartbeat, Lease, run_claimed
from bot.errors import StaleLease
from tests.replicas.lapse import lease_lapses


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = open_engine(database_url)
    yield engine
    engine.dispose()


def test_one_holder_at_a_time(engine: Engine) -> None:
    leases = SqlLeases(engine, sole=False)
    first = leases.claim("report:1", holder="a", ttl=30)
    assert first == Lease("report:1", "a", 1)
    assert leases.claim("report:1", holder="b", ttl=30) is None
    assert leases.claim("report:1", holder="a", ttl=30) is None  # not re-entrant either
    assert leases.renew(first, ttl=30)


def test_an_expired_lease_is_taken_over_and_the_old_holder_is_fenced(engine: Engine) -> None:
    leases = SqlLeases(engine, sole=False)
    old = leases.claim("diagnosis:1:node-17", holder="a", ttl=30)
    assert old is not None
    lease_lapses(engine, old.key)
    new = leases.claim(old.key, holder="b", ttl=30)
    assert new is not None and new.token == 2 and new.taken_over
    assert not leases.renew(old, ttl=30)
    with pytest.raises(StaleLease), leases.fenced(old):
        pytest.fail("a stale holder's write ran")
    with pytest.raises(StaleLease):
        leases.finish(old)
    with leases.fenced(new):
        pass
    leases.finish(new)
    assert leases.finished(old.key)
    lease_lapses(engine, old.key)
    assert leases.claim(old.key, holder="c", ttl=30) is None  # finished work stays finished


def test_a_released_lease_is_free_at_once(engine: Engine) -> None:
    leases = SqlLeases(engine, sole=False)
    lease = leases.claim("summary:1", holder="a", ttl=30)
    assert lease is not None
    leases.release(lease)
    again = leases.claim("summary:1", holder="b", ttl=30)
    assert again is not None and again.token == 2 and again.taken_over


def test_racing_claims_have_one_winner(engine: Engine) -> None:
    leases = SqlLeases(engine, sole=False)
    won: list[Lease] = []
    barrier = threading.Barrier(8)

    def claim(name: str) -> None:
        barrier.wait()
        lease = leases.claim("channel:7", holder=name, ttl=30)
        if lease is not None:
            won.append(lease)

    threads = [threading.Thread(target=claim, args=(f"r{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1


def test_the_heartbeat_keeps_a_lease_and_reports_one_taken_over(engine: Engine) -> None:
    leases = SqlLeases(engine, sole=False)
    lost: list[Lease] = []
    beat = Heartbeat(leases, ttl=30, lost=lost.append)
    lease = leases.claim("report:2", holder="a", ttl=30)
    assert lease is not None
    beat.hold(lease)
    beat.beat()
    assert not lost and beat.holds("report:2") == lease
    lease_lapses(engine, lease.key)
    assert leases.claim(lease.key, holder="b", ttl=30) is not None
    beat.beat()
    assert lost == [lease] and beat.holds("report:2") is None


def test_run_claimed_runs_once_and_releases_on_failure(engine: Engine) -> None:
    leases = SqlLeases(engine, sole=False)
    beat = Heartbeat(leases, ttl=30)
    ran: list[int] = []

    def failing(lease: Lease) -> None:
        raise RuntimeError("host unreachable")

    with pytest.raises(RuntimeError):
        run_claimed(leases=leases, heartbeat=beat, key="k", holder="a", work=failing)
    assert run_claimed(leases=leases, heartbeat=beat, key="k", holder="b",
                       work=lambda lease: ran.append(lease.token))
    assert not run_claimed(leases=leases, heartbeat=beat, key="k", holder="c",
                           work=lambda lease: ran.append(lease.token))
    assert ran == [2]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_takeover_waits_for_a_fenced_write_in_progress(engine: Engine) -> None:
    """PostgreSQL: the lease row is locked while the old holder writes, so the new holder's
    claim lands after that write, never between its check and its commit."""
    leases = SqlLeases(engine, sole=False)
    old = leases.claim("report:3", holder="a", ttl=30)
    assert old is not None
    lease_lapses(engine, old.key)
    order: list[str] = []
    inside = threading.Event()

    def takeover() -> None:
        inside.wait(10)
        assert leases.claim(old.key, holder="b", ttl=30) is not None
        order.append("claimed")

    thread = threading.Thread(target=takeover)
    thread.start()
    with leases.fenced(old):
        inside.set()
        thread.join(0.5)  # the claim is blocked on the row lock meanwhile
        order.append("written")
    thread.join(10)
    assert order == ["written", "claimed"]


def test_on_sqlite_another_holder_is_a_dead_process(tmp_path: Path) -> None:
    """One replica on SQLite: a restarted process takes its predecessor's claims at once."""
    engine = open_engine(f"sqlite:///{tmp_path / 'one.db'}")
    leases = SqlLeases(engine)
    before = leases.claim("report:1", holder="pid-1", ttl=30)
    assert before is not None
    after = leases.claim("report:1", holder="pid-2", ttl=30)
    assert after is not None and after.taken_over and after.token == 2
    assert leases.claim("report:1", holder="pid-2", ttl=30) is None
    engine.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_replicas_starting_together_migrate_one_at_a_time(database_url: str) -> None:
    """Three processes' worth of engines migrating an empty database at once: all succeed."""
    failures: list[BaseException] = []
    barrier = threading.Barrier(3)

    def start() -> None:
        barrier.wait()
        try:
            open_engine(database_url).dispose()
        except BaseException as error:  # collected and shown below
            failures.append(error)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_a_fenced_finish_leaves_nothing_to_take_over(engine: Engine) -> None:
    leases = SqlLeases(engine, sole=False)
    lease = leases.claim("diagnosis:2:node-17", holder="a", ttl=30)
    assert lease is not None
    with leases.fenced(lease, finish=True):
        pass  # the work's writes
    lease_lapses(engine, lease.key)  # its holder dies right after them
    assert leases.finished(lease.key)
    assert leases.claim(lease.key, holder="b", ttl=30) is None
