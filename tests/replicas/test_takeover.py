"""Two replicas (two Slack runtimes on one PostgreSQL database and one Slack): the work one of
them claimed and died in the middle of is finished by the other, once: the channel it created
is adopted, the report it posted is found by its metadata, the host it was diagnosing is
diagnosed, and its late writes are refused."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.slack.runtime import SlackRuntime
from bot.adapters.store import SqlStore, open_store
from bot.app.claims import diagnosis_key, report_key
from bot.app.diagnosis_feed import DiagnosisSetup
from bot.app.incidents import ingest
from bot.config import config_from
from bot.domain.alerts import Occurrence
from bot.domain.incident import DiagnosisRequest
from bot.errors import StaleLease, StoreError
from bot.wiring.serve import slack_runtime
from tests.replicas.lapse import lease_lapses
from tests.support.slack_emulator import SlackEmulator
from tests.support.slack_harness import BOT_TOKEN, SECRET, LocalRunner, local_diagnosis


@pytest.fixture
def store(postgres_url: str) -> Iterator[SqlStore]:
    store = open_store(postgres_url)
    yield store
    store.engine.dispose()


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[DiagnosisSetup, LocalRunner, Path]]:
    with local_diagnosis(tmp_path) as found:
        yield found


def _config(binary: Path, evidence: Path) -> dict[str, Any]:
    return {"defaults": {"evidence_dir": str(evidence), "run_timeout": 60},
            "hosts": {"node-17": {"address": "127.0.0.1"}},
            "services": {"checkout-api": {"unit": "checkout-api.service",
                                          "binary": str(binary), "hosts": ["node-17"]}},
            "slack": {"report_min_interval_seconds": 0.1,
                      "report_global_interval_seconds": 0.01}}


def _replica(store: SqlStore, emulator: SlackEmulator, config: dict[str, Any],
             setup: DiagnosisSetup) -> SlackRuntime:
    environ = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SECRET,
               "SEGBOT_SLACK_API_URL": emulator.url, "SEGBOT_LEASE_SECONDS": "30"}
    runtime = slack_runtime(store=store, config=config_from(config), environ=environ,
                            diagnosis=setup)
    assert runtime is not None
    return runtime


def _incident(store: SqlStore, *, minutes_ago: float = 0) -> int:
    now = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    crash = Occurrence(source="generic", key="a-1", host="node-17", service="checkout-api",
                       status="firing", time=now, signal="SIGSEGV", version="2.18.7")
    return ingest(store=store, requests=[[crash]], now=now,
                  window=timedelta(minutes=15)).results[0].incidents[0]


class Crash(Exception):
    """Stands for the process dying at this point."""


def _crash(*args: object, **kwargs: object) -> None:
    raise Crash


def test_a_channel_created_before_a_crash_is_adopted(
        store: SqlStore, emulator: SlackEmulator,
        setup: tuple[DiagnosisSetup, LocalRunner, Path], tmp_path: Path) -> None:
    config = _config(setup[2], tmp_path / "evidence")
    a, b = (_replica(store, emulator, config, setup[0]) for _ in range(2))
    incident = _incident(store)
    a.flows.slack_store.add_place = _crash  # type: ignore[method-assign]  # dies right after
    with pytest.raises(Crash):
        a.flows.ensure_place(incident)
    assert len(emulator.channels) == 1
    lease_lapses(store.engine, f"channel:{incident}")
    place = b.flows.ensure_place(incident)
    assert len(emulator.channels) == 1 and place.channel in emulator.channels
    assert store.incident_detail(incident) is not None


def test_a_channel_is_adopted_when_the_signal_became_known_after_the_crash(
        store: SqlStore, emulator: SlackEmulator,
        setup: tuple[DiagnosisSetup, LocalRunner, Path], tmp_path: Path) -> None:
    config = _config(setup[2], tmp_path / "evidence")
    a, b = (_replica(store, emulator, config, setup[0]) for _ in range(2))
    incident = _incident(store)
    a.flows.slack_store.add_place = _crash  # type: ignore[method-assign]
    with pytest.raises(Crash):  # created "...-crash", then died
        a.flows.ensure_place(incident)
    [first_name] = [c.name for c in emulator.channels.values()]
    assert first_name.endswith("-crash")
    b.flows.channels.rename(incident, "SIGSEGV")  # the first decoded crash, before the channel
    lease_lapses(store.engine, f"channel:{incident}")
    place = b.flows.ensure_place(incident)
    assert len(emulator.channels) == 1 and place.channel in emulator.channels
    # adopted, then named after the signal as a channel created by B would have been
    assert emulator.channels[place.channel].name == first_name.replace("-crash", "-sigsegv")
    detail = store.incident_detail(incident)
    assert detail is not None and any(e.text.startswith("channel renamed to #")
                                       for e in detail.timeline)


def test_a_report_posted_before_a_crash_is_found_not_posted_again(
        store: SqlStore, emulator: SlackEmulator,
        setup: tuple[DiagnosisSetup, LocalRunner, Path], tmp_path: Path) -> None:
    config = _config(setup[2], tmp_path / "evidence")
    a, b = (_replica(store, emulator, config, setup[0]) for _ in range(2))
    incident = _incident(store)
    a.flows.slack_store.set_report_ts = _crash  # type: ignore[method-assign]
    with pytest.raises(Crash):  # posted, then died before recording it
        while not a.flows.publish(incident):  # the first post waits for a diagnosis a while
            time.sleep(0.1)
    posts = emulator.called("chat.postMessage")
    assert len(posts) == 1 and posts[0].args["metadata"] == {
        "event_type": "segbot_report", "event_payload": {"claim": report_key(incident)}}
    assert b.flows.publish(incident) is True  # a live replica edits the report: not this one
    assert len(emulator.called("chat.postMessage")) == 1
    assert not emulator.called("chat.update")
    lease_lapses(store.engine, report_key(incident))
    assert b.flows.publish(incident) is True
    assert len(emulator.called("chat.postMessage")) == 1  # found by its metadata
    assert emulator.called("conversations.history")
    place = b.flows.slack_store.place(incident)
    assert place is not None and place.report_ts == posts[0].args.get("ts", place.report_ts)
    assert (place.channel, place.report_ts) in emulator.messages
    assert len(emulator.called("chat.update")) == 1  # and edited from then on


def test_a_dead_replicas_diagnosis_is_taken_over_and_its_late_writes_refused(
        store: SqlStore, emulator: SlackEmulator,
        setup: tuple[DiagnosisSetup, LocalRunner, Path], tmp_path: Path) -> None:
    config = _config(setup[2], tmp_path / "evidence")
    a, b = (_replica(store, emulator, config, setup[0]) for _ in range(2))
    incident = _incident(store, minutes_ago=5)  # asked for long enough ago to be overdue
    key = diagnosis_key(incident, "node-17")
    assert a.flows.replica is not None and b.flows.replica is not None
    dead = a.flows.replica.leases.claim(key, holder=a.flows.replica.holder, ttl=30)
    assert dead is not None  # A started on the host, then died
    assert b.flows.replica.leases.orphaned_diagnoses(grace=1, holder="b") == []  # A lives
    lease_lapses(store.engine, key)
    b.flows.start()
    try:
        b.flows.poll()
        emulator.wait_for(lambda: b.flows.replica is not None
                          and b.flows.replica.leases.finished(key), 60)
    finally:
        b.flows.stop()
    detail = store.incident_detail(incident)
    assert detail is not None and detail.incident.signature
    assert any("diagnosis of node-17 finished" in e.text for e in detail.timeline)
    with pytest.raises(StaleLease), a.flows.replica.leases.fenced(dead):
        pass
    with pytest.raises(StoreError):
        a.flows.replica.leases.finish(dead)


def test_a_rerun_a_person_asked_for_is_taken_over_when_its_replica_dies(
        store: SqlStore, emulator: SlackEmulator,
        setup: tuple[DiagnosisSetup, LocalRunner, Path], tmp_path: Path) -> None:
    config = _config(setup[2], tmp_path / "evidence")
    a, b = (_replica(store, emulator, config, setup[0]) for _ in range(2))
    incident = _incident(store)
    rerun = DiagnosisRequest(incident, "node-17", "checkout-api", again="proposal-p1")
    key = diagnosis_key(incident, "node-17", "proposal-p1")
    a.flows._pool.submit = _crash  # type: ignore[method-assign]  # claimed, then died
    with pytest.raises(Crash):
        a.flows.trigger(rerun)
    assert a.flows.replica is not None and b.flows.replica is not None
    assert b.flows.replica.leases.orphaned_diagnoses(grace=3600, holder="b") == []  # A lives
    b.flows.trigger(rerun)  # the same re-run asked again meanwhile: A has it
    assert not b.flows.replica.leases.finished(key)
    # A died a minute ago: its lease ran out
    lease_lapses(store.engine, key, datetime.now(UTC) - timedelta(minutes=1))
    assert b.flows.replica.leases.orphaned_diagnoses(grace=3600, holder="b") == [rerun]
    b.flows.start()
    try:
        b.flows.poll()
        emulator.wait_for(lambda: b.flows.replica is not None
                          and b.flows.replica.leases.finished(key), 60)
    finally:
        b.flows.stop()
    detail = store.incident_detail(incident)
    assert detail is not None
    assert sum("diagnosis of node-17 finished" in e.text for e in detail.timeline) == 1
    assert b.flows.replica.leases.orphaned_diagnoses(grace=3600, holder="b") == []
