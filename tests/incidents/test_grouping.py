"""Where an occurrence belongs: same service and signature, the window before a signature is
known, and a different signature linked as related."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.incident import (
    Join,
    OpenIncident,
    OpenNew,
    Status,
    can_change,
    group,
)

T0 = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=15)


def _place(signature: str | None, incidents: list[OpenIncident], at: datetime = T0):  # type: ignore[no-untyped-def]
    return group(service="checkout-api", signature=signature, time=at,
                 open_incidents=incidents, window=WINDOW)


def test_first_occurrence_opens_an_incident() -> None:
    assert _place("sigA", []) == OpenNew("sigA")
    assert _place(None, []) == OpenNew(None)


def test_same_signature_joins_however_old() -> None:
    old = OpenIncident(7, "checkout-api", "sigA", T0 - timedelta(days=2))
    assert _place("sigA", [old]) == Join(7)


def test_unknown_signature_joins_within_the_window_only() -> None:
    recent = OpenIncident(3, "checkout-api", "sigA", T0 - timedelta(minutes=5))
    assert _place(None, [recent]) == Join(3)
    stale = OpenIncident(3, "checkout-api", "sigA", T0 - timedelta(hours=1))
    assert _place(None, [stale]) == OpenNew(None, (3,))


def test_unknown_signature_joins_the_most_recent_of_the_service() -> None:
    a = OpenIncident(1, "checkout-api", "sigA", T0 - timedelta(minutes=10))
    b = OpenIncident(2, "checkout-api", "sigB", T0 - timedelta(minutes=1))
    other = OpenIncident(3, "payments", None, T0)
    assert _place(None, [a, b, other]) == Join(2)


def test_signature_rekeys_an_unsigned_incident() -> None:
    waiting = OpenIncident(4, "checkout-api", None, T0 - timedelta(minutes=2))
    assert _place("sigA", [waiting]) == Join(4, rekey_to="sigA")


def test_new_signature_while_one_is_open_is_related_not_merged() -> None:
    open_a = OpenIncident(5, "checkout-api", "sigA", T0)
    other_service = OpenIncident(6, "payments", "sigB", T0)
    assert _place("sigB", [open_a, other_service]) == OpenNew("sigB", (5,))


def test_status_changes() -> None:
    assert can_change(Status.INVESTIGATING, Status.CONTAINED)
    assert can_change(Status.RESOLVED, Status.INVESTIGATING)
    assert not can_change(Status.RESOLVED, Status.CONTAINED)
    assert not can_change(Status.MONITORING, Status.MONITORING)
