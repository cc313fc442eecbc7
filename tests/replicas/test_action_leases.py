"""Containment actions across replicas on PostgreSQL: an action one replica is executing is
left alone by another replica's recovery, and is told "outcome unknown" (never re-run) once
the replica executing it died and its lease lapsed. The deploy service counts the calls."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from bot.adapters.slack.blocks import report_message
from bot.adapters.slack.runtime import SlackRuntime
from bot.adapters.store import SqlStore, open_store
from bot.app.claims import action_key
from bot.app.containment import Containment
from bot.app.ports.containment import ActionRequest
from bot.app.ports.slack import Proposal
from bot.app.proposals import ensure_buttons
from bot.app.report_view import ReportView
from bot.config import config_from
from bot.domain.incident import Status
from bot.wiring.serve import slack_runtime
from tests.replicas.lapse import lease_lapses
from tests.support.effect_server import EffectServer, effect_server
from tests.support.slack_emulator import SlackEmulator
from tests.support.slack_harness import BOT_TOKEN, SECRET


@pytest.fixture
def store(postgres_url: str) -> Iterator[SqlStore]:
    store = open_store(postgres_url)
    yield store
    store.engine.dispose()


@pytest.fixture
def deploys() -> Iterator[EffectServer]:
    with effect_server() as server:
        yield server


def _runtime(store: SqlStore, emulator: SlackEmulator, deploys: EffectServer) -> SlackRuntime:
    config = config_from({
        "hosts": {"node-17": {"address": "127.0.0.1"}},
        "services": {"checkout-api": {
            "unit": "checkout-api.service", "binary": "/opt/checkout/bin/checkout-api",
            "hosts": ["node-17"],
            "actions": {"rollback": {"url": deploys.url + "/deploys/{service}/rollback",
                                     "body": {"version": "{version}"}, "timeout": 60}}}}})
    environ = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SECRET,
               "SEGBOT_SLACK_API_URL": emulator.url, "SEGBOT_LEASE_SECONDS": "30"}
    runtime = slack_runtime(store=store, config=config, environ=environ)
    assert runtime is not None and isinstance(runtime.actions, Containment)
    return runtime


def _replica(store: SqlStore, emulator: SlackEmulator, deploys: EffectServer) -> Containment:
    actions = _runtime(store, emulator, deploys).actions
    assert isinstance(actions, Containment)
    return actions


def _rollback(store: SqlStore, action_id: str) -> ActionRequest:
    now = datetime.now(UTC)
    with store.transaction() as tx:
        incident = tx.create_incident(service="checkout-api", signature="SIGSEGV price_v4",
                                      status=Status.INVESTIGATING, at=now, seen=now)
    return ActionRequest(proposal_id=action_id, incident_id=incident, action="rollback",
                         target={"service": "checkout-api", "version": "2.18.7"},
                         requested_by="U0ALICE")


def _posts(deploys: EffectServer, action_id: str) -> int:
    return sum(r.method == "POST" and r.headers.get("idempotency-key") == action_id
               for r in deploys.requests)


def _state(store: SqlStore, action_id: str) -> str:
    with store.engine.connect() as connection:
        return str(connection.execute(text("SELECT state FROM containment_action WHERE id = :i"),
                                      {"i": action_id}).scalar())


def test_a_live_replicas_action_is_not_recovered_by_another(
        store: SqlStore, emulator: SlackEmulator, deploys: EffectServer) -> None:
    a, b = _replica(store, emulator, deploys), _replica(store, emulator, deploys)
    request = _rollback(store, "live-1")
    deploys.mode, deploys.hang_seconds = "hang", 3  # the deploy system takes its time
    running = threading.Thread(target=a.execute, args=(request,))
    running.start()
    emulator.wait_for(lambda: _posts(deploys, "live-1") == 1, 30)
    assert b.recover() == 0  # another replica starting, or its leader's round
    assert _state(store, "live-1") == "executing"
    running.join(60)
    assert _state(store, "live-1") == "succeeded"  # A learnt the outcome and wrote it
    assert not b.execute(request).ok  # and a second click runs nothing
    assert _posts(deploys, "live-1") == 1


def test_a_dead_replicas_action_is_told_unknown_and_never_run_again(
        store: SqlStore, emulator: SlackEmulator, deploys: EffectServer) -> None:
    a, b = _replica(store, emulator, deploys), _replica(store, emulator, deploys)
    request = _rollback(store, "dead-1")
    assert a.replica is not None
    a.executor = _Dies(a.executor)  # type: ignore[assignment]
    with pytest.raises(_Died):
        a.execute(request)  # the call went out, then the process died
    assert _posts(deploys, "dead-1") == 1 and _state(store, "dead-1") == "executing"
    assert b.recover() == 0  # its lease still runs
    # ... until it lapses
    lease_lapses(store.engine, action_key("dead-1"), datetime.now(UTC) - timedelta(days=1))
    b.verify_due()  # the leader's round, without any process restarting
    assert _state(store, "dead-1") == "unknown"
    detail = store.incident_detail(request.incident_id)
    assert detail is not None
    notices = [e.text for e in detail.timeline if "outcome unknown" in e.text]
    assert len(notices) == 1 and "will not be run again" in notices[0], notices
    assert not b.execute(request).ok and b.recover() == 0
    assert _posts(deploys, "dead-1") == 1


def _clicked(flows: Any, request: ActionRequest, proposal: str) -> datetime:
    """The request's button, clicked by Alice ten minutes ago; the click's time."""
    clicked = datetime.now(UTC) - timedelta(minutes=10)
    flows.slack_store.add_proposal(Proposal(
        id=proposal, incident_id=request.incident_id, action="rollback",
        target=dict(request.target), state="open", created_at=clicked,
        expires_at=clicked + timedelta(hours=1)))
    assert flows.slack_store.claim_proposal(proposal, by="U0ALICE", at=clicked)
    return clicked


def test_a_dead_replicas_button_says_outcome_unknown_and_what_to_check(
        store: SqlStore, emulator: SlackEmulator, deploys: EffectServer) -> None:
    a, runtime = _replica(store, emulator, deploys), _runtime(store, emulator, deploys)
    flows, b = runtime.flows, runtime.actions
    assert isinstance(b, Containment)
    request = _rollback(store, "dead-2")
    clicked = _clicked(flows, request, "dead-2")
    a.executor = _Dies(a.executor)  # type: ignore[assignment]
    with pytest.raises(_Died):  # the click's replica called the deploy system, then died
        a.execute(request)
    lease_lapses(store.engine, action_key("dead-2"), clicked)  # its lease lapsed long ago
    b.verify_due()
    assert _state(store, "dead-2") == "unknown"
    flows.poll()  # told unknown a moment ago: the button waits for the clicking replica
    assert flows.slack_store.proposal("dead-2").state == "executing"  # type: ignore[union-attr]
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE containment_action SET finished_at = :t WHERE id = :i"),
                           {"t": clicked + timedelta(minutes=1), "i": "dead-2"})
    flows.poll()
    proposal = flows.slack_store.proposal("dead-2")
    assert proposal is not None and proposal.state == "unknown"
    assert proposal.outcome is not None and "Check the deploy system" in proposal.outcome
    incident = flows.incident(request.incident_id)
    assert incident is not None
    buttons, decisions = ensure_buttons(
        store=flows.slack_store, actions=b, incident=incident, report=None, report_host=None,
        now=datetime.now(UTC), ttl=timedelta(hours=1), rules={"rollback": ["U0ALICE"]})
    assert not [x for x in buttons if x.action == "rollback"]  # never offered a second run
    blocks, _text = report_message(ReportView(incident=incident, report=None, report_host=None,
                                              hosts=(), buttons=buttons, decisions=decisions))
    shown = json.dumps(blocks)
    assert "*outcome unknown*" in shown and "executing" not in shown
    assert "Check the deploy system: which version of checkout-api runs now" in shown
    detail = store.incident_detail(request.incident_id)
    assert detail is not None
    told = [e.text for e in detail.timeline if "outcome unknown" in e.text]
    assert len(told) == 1 and "check the deploy system" in told[0], told
    assert _posts(deploys, "dead-2") == 1


class _Died(Exception):
    """Stands for the process dying at this point."""


class _Dies:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def run(self, *args: object, **kwargs: object) -> object:
        self.inner.run(*args, **kwargs)
        raise _Died



def test_a_click_whose_replica_died_before_starting_it_is_offered_again(
        store: SqlStore, emulator: SlackEmulator, deploys: EffectServer) -> None:
    flows = _runtime(store, emulator, deploys).flows
    request = _rollback(store, "lost-1")
    clicked = _clicked(flows, request, "lost-1")
    flows.poll()  # the claim's replica died before writing the action's intent
    proposal = flows.slack_store.proposal("lost-1")
    assert proposal is not None and proposal.state == "open" and proposal.decided_by is None
    detail = store.incident_detail(request.incident_id)
    assert detail is not None and any("was lost" in e.text and "U0ALICE" in e.text
                                      for e in detail.timeline)
    assert _replica(store, emulator, deploys).execute(request).ok  # clicked again: runs once
    assert flows.slack_store.claim_proposal("lost-1", by="U0BOB", at=clicked)
    flows.poll()  # started this time (its intent is written): left alone
    assert flows.slack_store.proposal("lost-1").state == "executing"  # type: ignore[union-attr]
    assert _posts(deploys, "lost-1") == 1
