"""The two-person rule for rollback, on a real store with a real deploy server: an ask lapses
after APPROVAL_TTL (a late click by someone else starts a new ask, it does not complete the old
one), and is consumed by the click that completes it (a later re-try needs two people again)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from actions_setup import config_with, http_actions
from effect_server import effect_server

from bot.app.containment import APPROVAL_TTL
from bot.app.ports.containment import ActionRequest

TARGET = {"service": "checkout-api", "version": "2.18.7", "to_version": "2.18.6"}
T0 = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)


def _two_person(server_url: str) -> dict[str, Any]:
    actions = http_actions(server_url, timeout=10)
    actions["rollback"]["second_approver"] = True
    return actions


def _click(use_case: Any, incident: int, proposal: str, user: str, at: datetime) -> Any:
    use_case.clock = lambda: at
    return use_case.execute(ActionRequest(proposal_id=proposal, incident_id=incident,
                                          action="rollback", target=TARGET, requested_by=user))


def _timeline(store: Any, incident: int) -> list[str]:
    return [e.text for e in store.incident_detail(incident).timeline]


def test_a_stale_ask_does_not_let_one_late_click_through(contain: Any) -> None:
    with effect_server() as server:
        use_case, store, _, incident = contain(config_with(_two_person(server.url)))
        assert "waiting" in _click(use_case, incident, "p1", "U0ALICE", T0).text
        late = T0 + APPROVAL_TTL + timedelta(minutes=1)
        answer = _click(use_case, incident, "p2", "U0BOB", late)
        assert not answer.ok and "waiting for a second approver" in answer.text, answer
        assert server.requests == []
        assert not any("second approval by <@U0BOB>" in t for t in _timeline(store, incident))
        done = _click(use_case, incident, "p3", "U0CAROL", late + timedelta(minutes=1))
        assert done.ok, done
        assert len(server.requests) == 1
        assert any("second approval by <@U0CAROL> (asked by <@U0BOB>)" in t
                   for t in _timeline(store, incident))


def test_an_approval_is_consumed_by_the_action_it_approved(contain: Any) -> None:
    with effect_server() as server:
        server.mode = "fail"  # the deploy system refuses: the rollback is offered again
        use_case, _, _, incident = contain(config_with(_two_person(server.url)))
        _click(use_case, incident, "p1", "U0ALICE", T0)
        first = _click(use_case, incident, "p2", "U0BOB", T0 + timedelta(minutes=1))
        assert not first.ok and len(server.requests) == 1  # it ran, and failed
        server.mode = "ok"
        again = _click(use_case, incident, "p3", "U0CAROL", T0 + timedelta(minutes=2))
        assert not again.ok and "waiting for a second approver" in again.text, again
        assert len(server.requests) == 1
