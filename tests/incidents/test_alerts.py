"""Alerts to occurrences: which labels name host and service, alert times, dedup keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.alerts import (
    CrashFacts,
    LabelRules,
    Occurrence,
    Rejected,
    generic_occurrence,
    host_of,
    labelled_occurrence,
    parse_time,
    service_of,
)

RULES = LabelRules()
NOW = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)


def test_host_label_preference_and_instance_port() -> None:
    assert host_of({"host": "a", "hostname": "b", "instance": "c:1"}, RULES) == "a"
    assert host_of({"hostname": "b", "node": "n", "instance": "c:1"}, RULES) == "b"
    assert host_of({"node": "n", "instance": "c:1"}, RULES) == "n"
    assert host_of({"instance": "node-17:9100"}, RULES) == "node-17"
    assert host_of({"instance": "10.0.3.17:9100"}, RULES) == "10.0.3.17"
    assert host_of({"instance": "[fe80::1]:9100"}, RULES) == "fe80::1"
    assert host_of({"instance": "node-17"}, RULES) == "node-17"
    assert host_of({"job": "x"}, RULES) is None
    assert host_of({"host": "  ", "node": "n"}, RULES) == "n"


def test_service_label_preference() -> None:
    assert service_of({"service": "checkout-api", "unit": "x.service"}, RULES) == "checkout-api"
    assert service_of({"unit": "checkout-api.service", "job": "node"}, RULES) == "checkout-api"
    assert service_of({"job": "checkout"}, RULES) == "checkout"
    assert service_of({"alertname": "Segfault"}, RULES) is None
    custom = LabelRules(service=("app",))
    assert service_of({"app": "payments", "service": "other"}, custom) == "payments"


def test_alert_times_as_go_prints_them() -> None:
    assert parse_time("2026-11-26T04:40:00.123456789Z") == datetime(
        2026, 11, 26, 4, 40, 0, 123456, tzinfo=UTC
    )
    assert parse_time("2026-11-26T06:40:00+02:00") == datetime(2026, 11, 26, 4, 40, tzinfo=UTC)
    assert parse_time("2026-11-26T04:40:00Z") == parse_time("2026-11-26T04:40:00.000Z")
    assert parse_time("0001-01-01T00:00:00Z") is None  # Go's zero time: "no end"
    assert parse_time("yesterday") is None
    assert parse_time("2026-13-45T99:00:00Z") is None
    assert parse_time(None) is None


@given(st.text(max_size=80))
def test_parse_time_never_raises(text: str) -> None:
    value = parse_time(text)
    assert value is None or value.tzinfo is not None


def _alert(**overrides: object) -> Occurrence | Rejected:
    values: dict[str, object] = {
        "source": "alertmanager", "index": 0, "status": "firing",
        "labels": {"instance": "node-17:9100", "unit": "checkout-api.service"},
        "annotations": {"description": "checkout-api[42]: segfault at 0 ip 1 sp 2 error 4"},
        "starts_at": "2026-11-26T04:40:00.5Z", "fingerprint": "a1b2c3d4e5f60718",
        "received_at": NOW, "rules": RULES,
    }
    values.update(overrides)
    return labelled_occurrence(**values)  # type: ignore[arg-type]


def test_alertmanager_alert_becomes_an_occurrence() -> None:
    occurrence = _alert()
    assert isinstance(occurrence, Occurrence)
    assert (occurrence.host, occurrence.service, occurrence.status) == (
        "node-17", "checkout-api", "firing")
    assert occurrence.time == datetime(2026, 11, 26, 4, 40, 0, 500000, tzinfo=UTC)
    assert occurrence.message is not None and "segfault at 0" in occurrence.message


def test_dedup_key_is_fingerprint_and_start() -> None:
    first, again = _alert(), _alert(status="resolved")
    later = _alert(starts_at="2026-11-26T04:41:00Z")
    other = _alert(fingerprint="ffff")
    assert isinstance(first, Occurrence) and isinstance(again, Occurrence)
    assert isinstance(later, Occurrence) and isinstance(other, Occurrence)
    assert first.key == again.key  # the resolved notification of the same alert
    assert len({first.key, later.key, other.key}) == 3
    grafana = _alert(source="grafana")
    assert isinstance(grafana, Occurrence) and grafana.key != first.key


def test_unusable_alerts_are_rejected_with_a_reason() -> None:
    no_host = _alert(labels={"unit": "a.service"})
    no_service = _alert(labels={"host": "h"})
    bad_time = _alert(starts_at="soon")
    assert isinstance(no_host, Rejected) and "host" in no_host.reason
    assert isinstance(no_service, Rejected) and "service" in no_service.reason
    assert isinstance(bad_time, Rejected) and "startsAt" in bad_time.reason
    control = _alert(labels={"host": "a\nb", "service": "s"})
    assert isinstance(control, Rejected)


@given(
    st.dictionaries(st.text(max_size=12), st.text(max_size=40), max_size=6),
    st.dictionaries(st.text(max_size=12), st.text(max_size=40), max_size=3),
    st.one_of(st.none(), st.text(max_size=40)),
    st.one_of(st.none(), st.text(max_size=20)),
)
def test_any_labels_give_an_occurrence_or_a_reason(
    labels: dict[str, str], annotations: dict[str, str], starts: str | None, print_: str | None
) -> None:
    result = _alert(labels=labels, annotations=annotations, starts_at=starts, fingerprint=print_)
    assert isinstance(result, Occurrence | Rejected)


def test_generic_alert() -> None:
    occurrence = generic_occurrence(
        host="node-3", service="payments.service", signal="SIGSEGV", time=None,
        message=None, alert_id="x-1", version="1.2.3", received_at=NOW,
    )
    assert isinstance(occurrence, Occurrence)
    assert (occurrence.service, occurrence.time, occurrence.version) == ("payments", NOW, "1.2.3")
    unkeyed = generic_occurrence(
        host="node-3", service="payments", signal=None, time="2026-11-26T05:00:00+01:00",
        message=None, alert_id=None, version=None, received_at=NOW,
    )
    assert isinstance(unkeyed, Occurrence) and unkeyed.key is None
    assert unkeyed.time == NOW
    assert NOW.astimezone(timezone(timedelta(hours=1))) == unkeyed.time


def test_decoded_facts_fill_in_and_never_override_or_drop_a_field() -> None:
    from dataclasses import fields

    full = Occurrence(**{f.name: f"given-{f.name}" for f in fields(Occurrence)})  # type: ignore[arg-type]
    facts = CrashFacts(signature="SIGSEGV f", pid=7, signal="SIGSEGV", executable="/x",
                       build_id="ab")
    assert full.with_crash(facts) == full
    bare = Occurrence(source="generic", key=None, host="h", service="s", status="firing",
                      time=datetime(2026, 1, 1, tzinfo=UTC))
    assert bare.with_crash(facts) == Occurrence(
        source="generic", key=None, host="h", service="s", status="firing",
        time=datetime(2026, 1, 1, tzinfo=UTC), signature="SIGSEGV f", pid=7, signal="SIGSEGV",
        executable="/x", build_id="ab")
