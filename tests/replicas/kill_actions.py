"""Containment in the kill test: a person clicking the reports' containment buttons through
the load balancer, and the executing side counting what it was asked to do: the deploy and
flag service (tests.support.effect_server) counts calls per action id, the simulated hosts
count the restart-delay helper's runs."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

import tests.fleet.simhost as simhost
from tests.fleet.commands import unwrap
from tests.replicas.cluster import State, click
from tests.support.slack_emulator import SlackEmulator

CLICKED = ("restart_delay", "disable_flag", "rollback")
HELPER = "/usr/local/libexec/segbot/restart-delay"
RECLICK_SECONDS = 5.0  # a button still open this long after a click: its replica died first


def actions_config(effects_url: str) -> dict[str, Any]:
    """Each service's containment: the restart delay over SSH, the flag and the rollback over
    HTTP, each click allowed to U0ALICE."""
    return {"restart_delay": {"seconds": 30},
            "disable_flag": {"url": effects_url + "/flags/{flag}/disable"},
            "rollback": {"url": effects_url + "/deploys/{service}/rollback",
                         "body": {"version": "{version}"}}}


def changes(service: str, *hosts: str) -> list[dict[str, Any]]:
    """The deploy and the flag flip just before the recorded crashes (the simulated hosts
    replay them with their recorded times), as the deploy system reports them: what the
    report's rollback and disable-flag buttons act on."""
    return [{"service": service, "kind": "deploy", "version": "2.18.7", "hosts": list(hosts),
             "time": "2026-12-03T08:50:00Z", "id": f"deploy-{service}"},
            {"service": service, "kind": "flag", "flag": "pricing_v4", "state": True,
             "time": "2026-12-03T08:55:00Z", "id": f"flag-{service}"}]


def services_config(fleet_config: dict[str, Any], hosts: list[str], effects: str,
                    count: int) -> dict[str, Any]:
    """`count` services svc-00... on two simulated hosts each, with containment, U0ALICE
    allowed to click, reports and summaries at test speed."""
    services = {f"svc-{i:02d}": {"unit": "checkout-api.service",
                                 "binary": "/opt/checkout/bin/checkout-api",
                                 "hosts": hosts[2 * i:2 * i + 2],
                                 "actions": actions_config(effects)}
                for i in range(count)}
    allowed = ["U0ALICE"]
    return {**fleet_config, "services": services,
            "slack": {"report_min_interval_seconds": 0.5, "report_global_interval_seconds": 0.1,
                      "poll_seconds": 0.5},
            "authorization": {"rerun": allowed, "resolve": allowed, "restart_delay": allowed,
                              "disable_flag": allowed, "rollback": allowed},
            "schedule": {"summary_minutes": 0.1, "summary_mode": "thread", "sync_seconds": 0.5,
                         "leader_seconds": 0.3, "quiet_minutes": 600, "verify_seconds": 1}}


def report_posts(emulator: SlackEmulator) -> Counter[str]:
    """Report messages posted, by the claim in their metadata."""
    with emulator.lock:
        messages = list(emulator.messages.values())
    return Counter(m["metadata"]["event_payload"]["claim"] for m in messages
                   if (m.get("metadata") or {}).get("event_type") == "segbot_report")


@dataclass
class HelperRuns:
    """What the simulated hosts were asked to run beyond the playbook: (host, command)."""

    runs: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def sets(self) -> Counter[str]:
        with self.lock:
            return Counter(host for host, command in self.runs
                           if command.startswith(f"{HELPER} set "))


@contextmanager
def hosts_running_containment(monkeypatch: pytest.MonkeyPatch) -> Iterator[HelperRuns]:
    """The simulated hosts also answer containment's commands: the restart-delay helper (its
    runs recorded) and `systemctl show` with the recorded unit's state."""
    runs, playbook_answer = HelperRuns(), simhost.answer

    def answer(host: simhost.HostState, wire: str) -> tuple[str | None, str, str, int]:
        command = unwrap(wire)
        if command.startswith(HELPER):
            with runs.lock:
                runs.runs.append((host.spec.name, command))
            return "restart_delay", "", "", 0
        step, out, err, status = playbook_answer(host, wire)
        if step is None and command.startswith("systemctl show "):
            unit = host.profile.answers["restart_policy"]
            return "systemctl_show", unit.stdout + "ActiveState=active\nSubState=running\n", "", 0
        return step, out, err, status

    monkeypatch.setattr(simhost, "answer", answer)
    yield runs


@dataclass
class Clicker:
    """Clicks every open containment button of every report, as a person would (again when
    nothing happened: the replica that took the click died before claiming it)."""

    emulator: SlackEmulator
    client: httpx.Client
    base: str
    state: State
    clicks: Counter[str] = field(default_factory=Counter)  # proposal id -> clicks sent
    _last: dict[str, float] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.wait(0.5):
            self.round()

    def round(self) -> None:
        open_ = {r[0] for r in self.state.rows(
            "SELECT id FROM slack_proposal WHERE state = 'open'")}
        with self.emulator.lock:
            reports = [(key, message) for key, message in self.emulator.messages.items()
                       if (message.get("metadata") or {}).get("event_type") == "segbot_report"]
        for (channel, ts), message in reports:
            for button in buttons(message):
                proposal = button["value"]
                if proposal not in open_ or (
                        time.monotonic() - self._last.get(proposal, -1e9) < RECLICK_SECONDS):
                    continue
                self._last[proposal] = time.monotonic()
                if click(self.client, self.base, self.emulator, channel=channel, ts=ts,
                         button=button):
                    self.clicks[proposal] += 1


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's containment buttons the tests click."""
    return [element for block in message.get("blocks") or ()
            for element in block.get("elements") or ()
            if element.get("type") == "button"
            and element["action_id"].rsplit(":", 1)[-1] in CLICKED]


def not_once(state: State, effects: Any, helper: HelperRuns) -> tuple[Counter[str], list[str]]:
    """(how many actions ended in each state, what was not executed exactly once) from
    segbot's records against the far side: HTTP calls carrying the action's id, and for the
    restart delay the helper's runs per host (a second click after "outcome unknown" is a
    new action on the same host). An action that succeeded ran once; one whose outcome is
    unknown or that failed ran at most once."""
    calls = Counter(r.headers.get("idempotency-key") for r in list(effects.requests)
                    if r.method == "POST")
    records = [(id_, action, json.loads(target), st) for id_, action, target, st in state.rows(
        "SELECT id, action, target, state FROM containment_action")]
    problems = [f"{a} {i} {st}" for i, a, _t, st in records
                if st not in {"succeeded", "failed", "unknown"}]
    ids = {i for i, *_ in records}
    problems += [f"a call nobody recorded: {key}" for key in calls if key not in ids]
    for id_, action, _target, st in records:
        if action != "restart_delay" and not (
                calls[id_] == 1 if st == "succeeded" else calls[id_] <= 1):
            problems.append(f"{action} {id_} ({st}) called {calls[id_]} times")
    per_host: dict[str, list[str]] = {}
    for _id, action, target, st in records:
        if action == "restart_delay":
            per_host.setdefault(target.get("host", ""), []).append(st)
    sets = helper.sets()
    for host in set(per_host) | set(sets):
        states = per_host.get(host, [])
        succeeded = states.count("succeeded")
        if not succeeded <= sets[host] <= len(states):
            problems.append(f"restart delay on {host}: {sets[host]} runs for {states}")
    return Counter(st for *_, st in records), problems


def actions_missing(state: State, incidents: list[tuple[int, str]]) -> list[str]:
    """The incidents whose clicked actions are not all decided (empty: all are)."""
    records = state.rows("SELECT incident_id, action, state FROM containment_action")
    missing = []
    for incident_id, _service in incidents:
        for action in CLICKED:
            states = [s for i, a, s in records if i == incident_id and a == action]
            if not states or "executing" in states:
                offered = [s for i, a, s in state.rows(
                    "SELECT incident_id, action, state FROM slack_proposal")
                    if i == incident_id and a == action]
                missing.append(f"{action} of #{incident_id} (buttons: {offered})")
    return missing


def tallies(state: State, emulator: SlackEmulator, incidents: list[tuple[int, str]],
            summaries: dict[str, list[int]]) -> str:
    """One line per incident: what Slack and the store hold for it, as the run ends."""
    channels = {r[0]: r[1] for r in state.rows("SELECT incident_id, channel FROM slack_place")}
    alerts = Counter(r[0] for r in state.rows(
        "SELECT incident_id FROM occurrence WHERE source = 'generic'"))
    hosts = Counter(r[0] for r in state.rows("SELECT incident_id FROM incident_host"))
    diagnosed = Counter(r[0] for r in state.rows(
        "SELECT incident_id FROM timeline_event WHERE kind = 'diagnosis' "
        "AND text LIKE 'diagnosis of % finished%'"))
    actions: dict[int, Counter[str]] = {}
    for incident_id, record_state in state.rows(
            "SELECT incident_id, state FROM containment_action"):
        actions.setdefault(incident_id, Counter())[record_state] += 1
    reports = report_posts(emulator)
    lines = ["incident service  channels reports alerts hosts diagnosed summaries actions"]
    for incident_id, service in incidents:
        channel = channels.get(incident_id)
        lines.append(
            f"#{incident_id:<7} {service:<8} {int(channel is not None):>8} "
            f"{reports[f'report:{incident_id}']:>7} {alerts[incident_id]:>6} "
            f"{hosts[incident_id]:>5} {diagnosed[incident_id]:>9} "
            f"{len(summaries.get(str(channel), [])):>9} "
            f"{dict(actions.get(incident_id, Counter()))}")
    return "\n".join(lines)
