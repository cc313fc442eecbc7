"""Summaries and reminders posted exactly once across a replica dying between posting and
recording the post (the next replica finds it by its metadata) or between claiming and posting
(the next replica posts it), on PostgreSQL with the Slack emulator."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from bot.adapters.slack.client import web_client
from bot.adapters.slack.schedule_chat import SlackAnnouncer
from bot.adapters.store import SqlStore, open_store
from bot.adapters.store.schedule_store import SqlScheduleStore
from bot.adapters.store.slack_store import SqlSlackStore
from bot.app.claims import Replica
from bot.app.incidents import ingest
from bot.app.ports.slack import Place
from bot.app.reminders import ReminderPolicy, run_reminders
from bot.app.summaries import run_summary
from bot.domain.alerts import Occurrence
from bot.wiring.replicas import replica_for
from tests.support.slack_emulator import Channel, SlackEmulator
from tests.support.slack_harness import BOT_TOKEN

EVERY = timedelta(minutes=15)


class Crash(Exception):
    """Stands for the process dying at this point."""


@pytest.fixture
def store(postgres_url: str) -> Iterator[SqlStore]:
    store = open_store(postgres_url)
    yield store
    store.engine.dispose()


def _incident(store: SqlStore, emulator: SlackEmulator, opened: datetime) -> int:
    crash = Occurrence(source="generic", key="a-1", host="node-17", service="checkout-api",
                       status="firing", time=opened, signal="SIGSEGV", version="2.18.7")
    incident = ingest(store=store, requests=[[crash]], now=opened,
                      window=timedelta(minutes=15)).results[0].incidents[0]
    SqlSlackStore(store.engine).add_place(Place(incident, "C0INC1", report_ts="1.000001"),
                                          opened)
    emulator.channels["C0INC1"] = Channel(id="C0INC1", name="inc-1", members={"U0BOT"})
    emulator.messages[("C0INC1", "1.000001")] = {"ts": "1.000001", "text": "report",
                                                 "edits": 0}
    return incident


def _replica(store: SqlStore, emulator: SlackEmulator) -> Replica:
    return replica_for(store.engine, {"SEGBOT_LEASE_SECONDS": "30"})


def _dies(store: SqlStore) -> None:
    """Every lease held now runs out (their holder died)."""
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE work_lease SET expires_at = :t WHERE NOT done"),
                           {"t": datetime(2000, 1, 1, tzinfo=UTC)})


def _summaries(emulator: SlackEmulator) -> list[int]:
    found = []
    for message in emulator.messages.values():
        match = re.search(r"Summary #(\d+)", json.dumps(message.get("blocks") or ""))
        if match:
            found.append(int(match.group(1)))
    return sorted(found)


def _summary(store: SqlStore, emulator: SlackEmulator, replica: Replica,
             announcer: SlackAnnouncer, incident: int, now: datetime) -> object:
    return run_summary(store=store, schedule=SqlScheduleStore(store.engine),
                       slack=SqlSlackStore(store.engine), announcer=announcer,
                       incident_id=incident, every=EVERY, mode="thread", now=now,
                       replica=replica)


@pytest.mark.parametrize("dies", ["after posting", "before posting"])
def test_a_summary_is_posted_once_whenever_its_replica_dies(
        store: SqlStore, emulator: SlackEmulator, dies: str) -> None:
    opened = datetime.now(UTC) - timedelta(minutes=40)
    incident = _incident(store, emulator, opened)
    a, b = _replica(store, emulator), _replica(store, emulator)
    client = web_client(BOT_TOKEN, api_url=emulator.url)
    dying = SlackAnnouncer(client)
    if dies == "after posting":
        schedule = SqlScheduleStore
        original = schedule.set_posted

        def crash_after(self: SqlScheduleStore, key: str, ts: str) -> None:
            raise Crash

        schedule.set_posted = crash_after  # type: ignore[method-assign]
        try:
            with pytest.raises(Crash):
                _summary(store, emulator, a, dying, incident, opened + EVERY)
        finally:
            schedule.set_posted = original  # type: ignore[method-assign]
        assert _summaries(emulator) == [1]
    else:
        def crash_before(*args: object, **kwargs: object) -> str:
            raise Crash

        dying.post_summary = crash_before  # type: ignore[method-assign]
        with pytest.raises(Crash):
            _summary(store, emulator, a, dying, incident, opened + EVERY)
        assert _summaries(emulator) == []
    _dies(store)
    view = _summary(store, emulator, b, SlackAnnouncer(client), incident,
                    opened + 2 * EVERY + timedelta(seconds=1))
    assert view is not None
    assert _summaries(emulator) == [1, 2]  # the dead replica's #1 once, then #2
    assert _summary(store, emulator, b, SlackAnnouncer(client), incident,
                    opened + 2 * EVERY + timedelta(seconds=2)) is None
    assert _summaries(emulator) == [1, 2]
    assert not emulator.violations


def test_a_reminder_is_posted_once_when_its_replica_dies_after_posting(
        store: SqlStore, emulator: SlackEmulator) -> None:
    opened = datetime.now(UTC) - timedelta(hours=3)
    incident = _incident(store, emulator, opened)
    a, b = _replica(store, emulator), _replica(store, emulator)
    client = web_client(BOT_TOKEN, api_url=emulator.url)
    policy = ReminderPolicy(quiet_after=timedelta(minutes=60))
    schedule = SqlScheduleStore(store.engine)

    def remind(replica: Replica, schedule: SqlScheduleStore) -> list[str]:
        return run_reminders(store=store, schedule=schedule, slack=SqlSlackStore(store.engine),
                             announcer=SlackAnnouncer(client), policy=policy,
                             now=opened + timedelta(hours=2), replica=replica)

    dying = SqlScheduleStore(store.engine)

    def crash(key: str, ts: str) -> None:
        raise Crash

    dying.set_posted = crash  # type: ignore[method-assign]
    with pytest.raises(Crash):
        remind(a, dying)
    posted = [m for m in emulator.messages.values() if "hourglass" in str(m.get("text"))]
    assert len(posted) == 1
    _dies(store)
    assert len(remind(b, schedule)) == 1  # recorded now, found by its metadata
    assert remind(b, schedule) == []
    again = [m for m in emulator.messages.values() if "hourglass" in str(m.get("text"))]
    assert len(again) == 1 and incident
