"""The daily digest's sections and the reminders' once-only keys, from incident values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.app.digest import compose_digest
from bot.app.reminders import ReminderPolicy, due_reminders, restart_delay_in_place
from bot.domain.incident import Incident, IncidentDetail, Status, TimelineEvent

NOW = datetime(2026, 1, 23, 9, 0, tzinfo=UTC)


def _incident(id: int, signature: str | None, status: Status, opened: timedelta,
              seen: timedelta, occurrences: int = 1) -> Incident:
    return Incident(id=id, service="checkout-api", signature=signature, status=status,
                    occurrences=occurrences, hosts=("node-17",), opened_at=NOW - opened,
                    last_seen=NOW - seen)


def test_digest_new_regressed_top_and_open() -> None:
    incidents = [
        _incident(1, "SIGSEGV a+0x1", Status.RESOLVED, timedelta(days=9), timedelta(days=8), 5),
        _incident(2, "SIGSEGV a+0x1", Status.INVESTIGATING, timedelta(hours=3),
                  timedelta(hours=1), 40),
        _incident(3, None, Status.MONITORING, timedelta(hours=20), timedelta(hours=2), 3),
        _incident(4, "SIGBUS b+0x9", Status.CONTAINED, timedelta(days=3), timedelta(days=2), 7),
    ]
    view = compose_digest(incidents, now=NOW)
    assert [i.id for i in view.new] == [2, 3]
    assert [i.id for i in view.regressed] == [2]
    assert view.top == (("SIGSEGV a+0x1", 40), ("checkout-api (signature unknown)", 3))
    assert [i.id for i in view.open] == [2, 3, 4]


def _detail(incident: Incident, *events: TimelineEvent) -> IncidentDetail:
    return IncidentDetail(incident, (), (), tuple(events))


def test_quiet_reminder_once_per_quiet_period() -> None:
    incident = _incident(7, "SIGSEGV a+0x1", Status.INVESTIGATING, timedelta(hours=5),
                         timedelta(hours=3))
    touched = TimelineEvent(NOW - timedelta(minutes=70), "note", "looking", actor="U0ALICE")
    policy = ReminderPolicy(quiet_after=timedelta(minutes=60))
    first = due_reminders(_detail(incident, touched), policy=policy, now=NOW)
    later = due_reminders(_detail(incident, touched), policy=policy,
                          now=NOW + timedelta(minutes=30))
    again = due_reminders(_detail(incident, touched), policy=policy,
                          now=NOW + timedelta(minutes=55))
    assert len(first) == 1 and "70 minutes" in first[0][1]
    assert first[0][0] == later[0][0] != again[0][0]  # the same period, then the next one
    fresh = TimelineEvent(NOW - timedelta(minutes=5), "note", "still on it", actor="U0BOB")
    assert due_reminders(_detail(incident, touched, fresh), policy=policy, now=NOW) == []


def test_restart_delay_drop_in_after_resolution() -> None:
    placed = TimelineEvent(NOW - timedelta(hours=2), "action", "Slow the restart loop by "
                           "<@U0ALICE>: done: node-17: RestartUSec 200ms -> 30s", "U0ALICE")
    resolved = TimelineEvent(NOW - timedelta(hours=1), "status", "investigating -> resolved")
    removed = TimelineEvent(NOW - timedelta(minutes=30), "action", "Remove the restart delay "
                            "by <@U0BOB>: done: node-17: RestartUSec 30s -> 200ms", "U0BOB")
    failed = TimelineEvent(NOW - timedelta(hours=2), "action", "Slow the restart loop by "
                           "<@U0ALICE>: failed: exit 1", "U0ALICE")
    assert restart_delay_in_place((placed,)) == placed
    assert restart_delay_in_place((placed, removed)) is None
    assert restart_delay_in_place((failed,)) is None
    incident = _incident(8, "SIGSEGV a+0x1", Status.RESOLVED, timedelta(hours=3),
                         timedelta(hours=2))
    policy = ReminderPolicy(dropin_after=timedelta(minutes=30))
    (due,) = due_reminders(_detail(incident, placed, resolved), policy=policy, now=NOW)
    assert due[0] == "dropin:8:0" and "still in place" in due[1]
    assert due_reminders(_detail(incident, placed, resolved, removed), policy=policy,
                         now=NOW) == []
    assert due_reminders(_detail(incident, placed, resolved), policy=policy,
                         now=NOW - timedelta(minutes=45)) == []  # 15 min after: not yet
