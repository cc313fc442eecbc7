"""rollback and disable_flag against a real local deploy/flag server that records requests:
the intent first, one call with Idempotency-Key = action id, the outcome written; a failing,
hanging or connection-dropping server never gets a second call, whatever happens next."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from actions_setup import TOKEN_ENV, config_with, http_actions
from effect_server import effect_server

from bot.adapters.store.action_store import SqlActionStore
from bot.app.containment import verify_action
from bot.app.ports.containment import ActionRequest
from bot.domain.containment import ActionRecord

TARGET = {"service": "checkout-api", "version": "2.18.7", "to_version": "2.18.6"}


def _request(incident: int, action_id: str = "act-1", user: str = "U0BOB",
             action: str = "rollback") -> ActionRequest:
    target = TARGET if action == "rollback" else {"service": "checkout-api",
                                                 "flag": "pricing_v4"}
    return ActionRequest(proposal_id=action_id, incident_id=incident, action=action,
                         target=target, requested_by=user)


@pytest.mark.parametrize("mode,state,effects", [
    ("ok", "succeeded", 1), ("fail", "failed", 0), ("hang", "unknown", 1),
    ("drop", "unknown", 1)])
def test_one_call_whatever_the_server_does(contain: Any, mode: str, state: str,
                                           effects: int) -> None:
    with effect_server() as server:
        server.mode = mode
        server.hang_seconds = 1.5
        use_case, store, told, incident = contain(
            # Only the hang needs the client to give up soon; elsewhere a slow CI is no timeout.
            config_with(http_actions(server.url, timeout=0.5 if mode == "hang" else 10)))
        result = use_case.execute(_request(incident))
        assert result.ok is (state == "succeeded"), result
        # a double click, a Slack retry and a restart's recovery: none calls again
        again = use_case.execute(_request(incident))
        assert not again.ok and "not run a second time" in again.text
        assert use_case.recover() == 0
        deadline = time.monotonic() + 10  # a hung request makes its effect late
        while len(server.effects) < effects and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.1)  # time for a second call, were one coming
        assert len(server.requests) == 1, server.requests
        assert len(server.effects) == effects
        seen = server.requests[0]
        assert seen.headers["idempotency-key"] == "act-1"
        assert seen.headers["authorization"] == f"Bearer {TOKEN_ENV['DEPLOY_TOKEN']}"
        assert seen.path == "/deploys/checkout-api/rollback"
        assert seen.body == {"service": "checkout-api", "version": "2.18.6",
                             "from": "2.18.7", "incident": str(incident)}
        record = SqlActionStore(store.engine).get("act-1")
        assert record is not None and record.state == state
        if state == "unknown":
            assert "outcome unknown" in result.text
            assert len(told.lines) == 1 and "outcome unknown" in told.lines[0][1]
        elif state == "failed":  # the channel hears what is known
            assert len(told.lines) == 1 and "HTTP 500" in told.lines[0][1]
        else:
            assert told.lines == []
        assert TOKEN_ENV["DEPLOY_TOKEN"] not in result.text


def test_disable_flag_preview_shows_the_value_and_the_call_turns_it_off(
        contain: Any) -> None:
    with effect_server() as server:
        use_case, _, _, incident = contain(config_with(http_actions(server.url)))
        target = {"service": "checkout-api", "flag": "pricing_v4"}
        preview = use_case.preview("disable_flag", target)
        assert preview is not None and "flag pricing_v4 is true" in preview
        result = use_case.execute(_request(incident, "flag-1", action="disable_flag"))
        assert result.ok, result
        assert server.flags["pricing_v4"] is False
        assert result.text.endswith("flag pricing_v4 true -> false"), result.text  # re-read
        posts = [r for r in server.requests if r.method == "POST"]
        assert len(posts) == 1 and posts[0].path == "/flags/pricing_v4/off"
        assert posts[0].headers["idempotency-key"] == "flag-1"
        assert posts[0].body == {"flag": "pricing_v4", "reason": f"segbot incident {incident}"}


def test_a_missing_secret_or_value_sends_nothing(contain: Any) -> None:
    with effect_server() as server:
        use_case, _, _, incident = contain(config_with(http_actions(server.url)),
                                               environ={})
        result = use_case.execute(_request(incident))
        assert not result.ok and "DEPLOY_TOKEN is not set" in result.text
        use_case2, _, _, _ = contain(config_with(http_actions(server.url)))
        no_target = ActionRequest(proposal_id="x2", incident_id=incident, action="rollback",
                                  target={"service": "checkout-api", "version": "2.18.7"},
                                  requested_by="U0BOB")
        result = use_case2.execute(no_target)
        assert not result.ok and "to_version" in result.text
        assert server.requests == []


def test_an_action_left_executing_becomes_outcome_unknown_once(contain: Any) -> None:
    with effect_server() as server:
        use_case, store, told, incident = contain(
                                                      config_with(http_actions(server.url)))
        actions = SqlActionStore(store.engine)
        assert actions.begin(ActionRecord(id="dead-1", incident_id=incident, action="rollback",
                                          target=TARGET, requested_by="U0BOB",
                                          state="executing", created_at=datetime.now(UTC)))
        assert use_case.recover() == 1
        assert use_case.recover() == 0  # a second start-up says nothing more
        assert len(told.lines) == 1 and "outcome unknown" in told.lines[0][1]
        assert not use_case.execute(_request(incident, "dead-1")).ok
        assert server.requests == []
        timeline = store.incident_detail(incident).timeline  # type: ignore[union-attr]
        assert sum("outcome unknown" in e.text for e in timeline) == 1


def test_verification_says_crash_free_or_still_crashing(contain: Any) -> None:
    from bot.domain.alerts import Occurrence

    with effect_server() as server:
        use_case, store, told, incident = contain(
                                                      config_with(http_actions(server.url)))
        assert use_case.execute(_request(incident, "v-1")).ok
        assert use_case.execute(_request(incident, "v-2", action="disable_flag")).ok
        actions = SqlActionStore(store.engine)
        first = actions.get("v-1")
        assert first is not None and first.verify_at is not None and first.finished_at
        later = first.finished_at + timedelta(minutes=15)
        text = verify_action(action_id="v-1", now=later, actions=actions, store=store,
                             announce=told)
        assert text == "crash-free for 15 minutes since the rollback"
        assert verify_action(action_id="v-1", now=later, actions=actions, store=store,
                             announce=told) is None  # said once
        crash = Occurrence(source="generic", key="k1", host="node-17", service="checkout-api",
                           status="firing", time=first.finished_at + timedelta(minutes=2),
                           signature="SIGSEGV price_v4")
        with store.transaction() as tx:
            tx.add_occurrences([(incident, crash)], datetime.now(UTC))
        text = verify_action(action_id="v-2", now=later, actions=actions, store=store,
                             announce=told)
        assert text == "still crashing: 1 since the flag was disabled"
        assert [line for _, line in told.lines if "Verification" in line] == [
            "Verification of roll checkout-api back from 2.18.7 to 2.18.6: "
            "crash-free for 15 minutes since the rollback.",
            "Verification of turn feature flag pricing_v4 off for checkout-api: "
            "still crashing: 1 since the flag was disabled."]


def test_what_the_deploy_system_answers_is_redacted(contain: Any) -> None:
    with effect_server() as server:
        server.reply = {"status": "ok", "log": "deploying with password=Hunter2Secret "
                        "token xoxb-1234567890-abcdefghij"}
        use_case, store, _, incident = contain(config_with(http_actions(server.url)))
        result = use_case.execute(_request(incident, "r-1"))
        assert result.ok and "HTTP 200" in result.text
        record = SqlActionStore(store.engine).get("r-1")
        assert record is not None
        for secret in ("Hunter2Secret", "xoxb-1234567890-abcdefghij"):
            assert secret not in result.text and secret not in record.detail
