"""The intake and lifecycle use cases against the real store (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.adapters.store import SqlStore, open_store
from bot.app.incidents import (
    assign_role,
    change_status,
    ingest,
    learn_signature,
    record_event,
    record_report,
    request_diagnoses,
    resume_diagnoses,
)
from bot.domain.alerts import Occurrence
from bot.domain.incident import DiagnosisRequest, Role, Status, TimelineEvent
from bot.errors import StoreError, UsageError

T0 = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=15)


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStore]:
    store = open_store(database_url)
    yield store
    store.engine.dispose()


def crash(n: int, *, host: str = "node-1", service: str = "checkout-api",
          signature: str | None = None, at: datetime = T0, status: str = "firing",
          version: str | None = "1.4.2") -> Occurrence:
    return Occurrence(
        source="alertmanager", key=f"k{n}", host=host, service=service,
        status=status, time=at, signature=signature, version=version,  # type: ignore[arg-type]
    )


def test_storm_from_twenty_hosts_is_one_incident(store: SqlStore) -> None:
    requests = [[crash(n, host=f"node-{n % 20}", at=T0 + timedelta(seconds=n // 50))]
                for n in range(1000)]
    outcome = ingest(store=store, requests=requests[:500], now=T0, window=WINDOW)
    outcome2 = ingest(store=store, requests=requests[500:], now=T0, window=WINDOW)
    assert sum(r.accepted for r in outcome.results + outcome2.results) == 1000
    assert len(outcome.diagnoses) == 20 and not outcome2.diagnoses
    (incident,) = store.list_incidents()
    assert incident.occurrences == 1000 and len(incident.hosts) == 20
    detail = store.incident_detail(incident.id)
    assert detail is not None
    assert sum(c.occurrences for c in detail.by_host_version) == 1000
    assert {c.version for c in detail.by_host_version} == {"1.4.2"}


def test_resent_alerts_count_once(store: SqlStore) -> None:
    batch = [[crash(1), crash(2)], [crash(2), crash(3)]]
    first = ingest(store=store, requests=batch, now=T0, window=WINDOW)
    assert [(r.accepted, r.duplicates) for r in first.results] == [(2, 0), (1, 1)]
    again = ingest(store=store, requests=batch, now=T0, window=WINDOW)
    assert [(r.accepted, r.duplicates) for r in again.results] == [(0, 2), (0, 2)]
    assert store.list_incidents()[0].occurrences == 3


def test_a_flood_of_keys_is_checked_in_chunks_and_counted_once(store: SqlStore) -> None:
    flood = [[crash(n) for n in range(1200)]]  # more keys than one IN list holds
    assert ingest(store=store, requests=flood, now=T0, window=WINDOW).results[0].accepted == 1200
    again = ingest(store=store, requests=flood, now=T0, window=WINDOW).results[0]
    assert (again.accepted, again.duplicates) == (0, 1200)


def test_times_keep_their_microseconds_and_last_seen_only_moves_forward(
        store: SqlStore) -> None:
    late = T0 + timedelta(seconds=5, microseconds=123456)
    ingest(store=store, requests=[[crash(1, at=late)]], now=T0, window=WINDOW)
    ingest(store=store, requests=[[crash(2, at=T0)]], now=T0, window=WINDOW)  # arrives late
    (incident,) = store.list_incidents()
    assert incident.last_seen == late and incident.last_seen.tzinfo is not None
    ingest(store=store, requests=[[crash(3, at=late + timedelta(microseconds=1))]], now=T0,
           window=WINDOW)
    assert store.list_incidents()[0].last_seen == late + timedelta(microseconds=1)


def test_a_database_refusal_is_a_store_error_and_keeps_nothing(store: SqlStore) -> None:
    with (pytest.raises(StoreError, match=r"database error: .*(FOREIGN KEY|foreign key)"),
          store.transaction() as tx):
        tx.add_occurrences([(424242, crash(1))], T0)  # no such incident
    assert ingest(store=store, requests=[[crash(1)]], now=T0, window=WINDOW).results[0].accepted


def test_resolved_alert_does_not_close(store: SqlStore) -> None:
    ingest(store=store, requests=[[crash(1)]], now=T0, window=WINDOW)
    ingest(store=store, requests=[[crash(2, status="resolved")]], now=T0, window=WINDOW)
    (incident,) = store.list_incidents()
    assert incident.status is Status.INVESTIGATING and incident.occurrences == 2


def test_signature_learnt_rekeys_then_new_signature_is_related(store: SqlStore) -> None:
    ingest(store=store, requests=[[crash(1)]], now=T0, window=WINDOW)
    ingest(store=store, requests=[[crash(2, signature="sigA")]], now=T0, window=WINDOW)
    (incident,) = store.list_incidents()
    assert incident.signature == "sigA" and incident.occurrences == 2
    ingest(store=store, requests=[[crash(3, signature="sigB")]], now=T0, window=WINDOW)
    newest, first = store.list_incidents()
    assert newest.signature == "sigB" and newest.related == (first.id,)
    assert first.related == (newest.id,)
    ingest(store=store, requests=[[crash(4, signature="sigA", host="node-9")]],
           now=T0, window=WINDOW)
    assert store.incident_detail(first.id).incident.occurrences == 3  # type: ignore[union-attr]


def test_other_service_is_another_incident(store: SqlStore) -> None:
    ingest(store=store, requests=[[crash(1), crash(2, service="payments")]], now=T0,
           window=WINDOW)
    assert sorted(i.service for i in store.list_incidents()) == ["checkout-api", "payments"]


def test_resolved_incident_is_not_reused(store: SqlStore) -> None:
    ingest(store=store, requests=[[crash(1, signature="sigA")]], now=T0, window=WINDOW)
    (incident,) = store.list_incidents()
    assert change_status(store=store, incident_id=incident.id, status=Status.RESOLVED,
                         actor="U1", now=T0)
    ingest(store=store, requests=[[crash(2, signature="sigA")]], now=T0, window=WINDOW)
    assert len(store.list_incidents()) == 2


def test_diagnosis_once_per_host_and_resumed_after_a_crash(store: SqlStore) -> None:
    asked: list[DiagnosisRequest] = []
    outcome = ingest(store=store, requests=[[crash(1), crash(2, host="node-2")]], now=T0,
                     window=WINDOW)
    assert len(outcome.diagnoses) == 2
    # the process died before handing them off: both are still pending
    assert resume_diagnoses(store=store, trigger=asked.append) == 2
    assert {a.host for a in asked} == {"node-1", "node-2"}
    assert resume_diagnoses(store=store, trigger=asked.append) == 0
    again = ingest(store=store, requests=[[crash(3), crash(4, host="node-3")]], now=T0,
                   window=WINDOW)
    request_diagnoses(store=store, trigger=asked.append, requests=again.diagnoses)
    assert [a.host for a in asked] == ["node-1", "node-2", "node-3"]
    detail = store.incident_detail(asked[0].incident_id)
    assert detail is not None and {d.state for d in detail.diagnoses} == {"requested"}


def test_lifecycle_and_timeline(store: SqlStore) -> None:
    ingest(store=store, requests=[[crash(1)]], now=T0, window=WINDOW)
    (incident,) = store.list_incidents()
    later = T0 + timedelta(minutes=3)
    assign_role(store=store, incident_id=incident.id, role=Role.COMMANDER, who="U123",
                actor="U999", now=later)
    assert change_status(store=store, incident_id=incident.id, status=Status.CONTAINED,
                         actor="U123", now=later)
    assert not change_status(store=store, incident_id=incident.id, status=Status.CONTAINED,
                             actor="U123", now=later)
    record_event(store=store, incident_id=incident.id,
                 event=TimelineEvent(later, "note", "rolled back to 1.4.1", "U123", "slack"))
    detail = store.incident_detail(incident.id)
    assert detail is not None
    assert detail.incident.commander == "U123" and detail.incident.status is Status.CONTAINED
    assert [e.kind for e in detail.timeline] == ["opened", "diagnosis", "role", "status", "note"]
    assert detail.timeline[-1].time == later and detail.timeline[-1].source == "slack"
    with pytest.raises(UsageError):
        record_event(store=store, incident_id=999, event=detail.timeline[0])


def test_diagnosis_rekeys_or_links_and_keeps_the_report(store: SqlStore) -> None:
    ingest(store=store, requests=[[crash(1, signature="sigA")]], now=T0, window=WINDOW)
    ingest(store=store, requests=[[crash(2, service="checkout-api", at=T0 + timedelta(hours=2))]],
           now=T0, window=WINDOW)
    unsigned, signed = store.list_incidents()
    assert unsigned.signature is None and signed.signature == "sigA"
    # diagnosis says the unsigned one is the same crash: linked, not merged
    assert learn_signature(store=store, incident_id=unsigned.id, signature="sigA", now=T0) == (
        signed.id)
    assert store.incident_detail(unsigned.id).incident.related == (signed.id,)  # type: ignore[union-attr]
    # a new crash: the incident takes the signature
    assert learn_signature(store=store, incident_id=unsigned.id, signature="sigB", now=T0) == (
        unsigned.id)
    record_report(store=store, incident_id=unsigned.id, host="node-1",
                  report_json='{"signature": "sigB"}', now=T0)
    detail = store.incident_detail(unsigned.id)
    assert detail is not None and detail.incident.signature == "sigB"
    assert detail.reports == (("node-1", '{"signature": "sigB"}'),)
    assert [e.kind for e in detail.timeline][-3:] == ["related", "signature", "report"]


def test_replicas_sharing_a_database_open_one_incident_per_new_crash(
    store: SqlStore, database_url: str
) -> None:
    """Two replicas (two engines on one database) take the first alert of the same new crash
    at the same moment, 20 times over: each crash still gets exactly one incident."""
    import threading

    replicas = [store, open_store(database_url)]
    rounds = 20
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def replica(n: int) -> None:
        for r in range(rounds):
            barrier.wait(10)
            try:
                ingest(store=replicas[n], requests=[[crash(1000 * r + n, service=f"svc-{r}",
                                                           host=f"node-{n}")]],
                       now=T0, window=WINDOW)
            except BaseException as error:
                errors.append(error)

    threads = [threading.Thread(target=replica, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    replicas[1].engine.dispose()
    assert errors == []
    incidents = store.list_incidents()
    assert sorted(i.service for i in incidents) == sorted(f"svc-{r}" for r in range(rounds))
    assert all(i.occurrences == 2 for i in incidents)
