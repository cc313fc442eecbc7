"""The crashes a diagnosis finds are the incident's occurrences, with their own times; a
`/segfault` request is not a crash. `data/lab-crash-loop.txt` is a lab host's real
`coredumpctl list` (5 cores) and service journal (5 `code=dumped` exits)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.adapters.store import SqlStore, open_store
from bot.app.incidents import ingest
from bot.app.occurrences import record_found_crashes, request_diagnosis
from bot.domain.alerts import Occurrence
from bot.domain.decode import decode_text
from bot.domain.postmortem import draft_postmortem

PASTE = (Path(__file__).parent / "data" / "lab-crash-loop.txt").read_text()
ASKED = datetime(2026, 12, 3, 7, 34, 19, tzinfo=UTC)  # 23 s after the last core
FIRST_CORE = datetime(2026, 12, 3, 7, 33, 53, tzinfo=UTC)
WINDOW = timedelta(minutes=15)
BINARY, UNIT = "/opt/checkout/bin/checkout-api", "checkout-api.service"


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStore]:
    store = open_store(database_url)
    yield store
    store.engine.dispose()


def test_found_crashes_are_the_occurrences_and_the_request_is_not(store: SqlStore) -> None:
    asked = request_diagnosis(store=store, host="lab-1", service="checkout-api",
                              actor="U0BOB", now=ASKED, window=WINDOW)
    assert asked.opened and [d.host for d in asked.diagnoses] == ["lab-1"]
    detail = store.incident_detail(asked.incident_id)
    assert detail is not None and detail.incident.occurrences == 0
    assert any(e.kind == "opened" and e.actor == "U0BOB" for e in detail.timeline)

    report = decode_text(PASTE, now=ASKED, host="lab-1")
    added = record_found_crashes(store=store, incident_id=asked.incident_id, host="lab-1",
                                 service="checkout-api", report=report, unit=UNIT,
                                 executable=BINARY, now=ASKED)
    assert added == 5  # five cores, each also an exit line in the journal: five crashes
    again = record_found_crashes(store=store, incident_id=asked.incident_id, host="lab-1",
                                 service="checkout-api", report=report, unit=UNIT,
                                 executable=BINARY, now=ASKED + timedelta(minutes=1))
    assert again == 0
    detail = store.incident_detail(asked.incident_id)
    assert detail is not None and detail.incident.occurrences == 5
    [row] = detail.by_host_version
    assert (row.host, row.version, row.occurrences) == ("lab-1", "2.18.7", 5)
    assert abs(row.first_seen - FIRST_CORE) <= timedelta(seconds=5)
    assert row.last_seen < ASKED

    draft = draft_postmortem(detail)
    assert draft.occurrences == 5 and draft.first_crash == row.first_seen
    assert "crashed 5 time(s)" in draft.summary


def test_an_alert_for_a_found_crash_is_not_counted_twice(store: SqlStore) -> None:
    alert = Occurrence(source="generic", key="generic:a1", host="lab-1", service="checkout-api",
                       status="firing", time=datetime(2026, 12, 3, 7, 33, 54, tzinfo=UTC),
                       pid=48, signal="SIGSEGV")
    other_host = Occurrence(source="generic", key="generic:a2", host="lab-2",
                            service="checkout-api", status="firing",
                            time=datetime(2026, 12, 3, 7, 33, 54, tzinfo=UTC), pid=48)
    outcome = ingest(store=store, requests=[[alert, other_host]], now=ASKED, window=WINDOW)
    incident_id = outcome.results[0].incidents[0]
    report = decode_text(PASTE, now=ASKED, host="lab-1")
    added = record_found_crashes(store=store, incident_id=incident_id, host="lab-1",
                                 service="checkout-api", report=report, unit=UNIT,
                                 executable=BINARY, now=ASKED)
    assert added == 4  # pid 48 on lab-1 was the alert's crash; lab-2's is another host's
    detail = store.incident_detail(incident_id)
    assert detail is not None and detail.incident.occurrences == 6


def test_alerts_without_a_pid_stand_for_the_nearest_found_crashes(store: SqlStore) -> None:
    """Loki's `code=dumped` alerts name no pid and fire a little after the crash: two alerts
    and five found crashes are five crashes, not seven."""
    alerts = [Occurrence(source="alertmanager", key=f"am:{n}", host="lab-1",
                         service="checkout-api", status="firing",
                         time=FIRST_CORE + timedelta(seconds=20 + n)) for n in range(2)]
    outcome = ingest(store=store, requests=[alerts], now=ASKED, window=WINDOW)
    incident_id = outcome.results[0].incidents[0]
    report = decode_text(PASTE, now=ASKED, host="lab-1")
    added = record_found_crashes(store=store, incident_id=incident_id, host="lab-1",
                                 service="checkout-api", report=report, unit=UNIT,
                                 executable=BINARY, now=ASKED)
    assert added == 3
    detail = store.incident_detail(incident_id)
    assert detail is not None and detail.incident.occurrences == 5
