"""The kill test: three `segbot serve` replicas behind HAProxy on one PostgreSQL server, N
incidents from alerts and /segfault commands, the reports' containment buttons clicked, one
replica SIGKILLed at random moments and restarted, and the whole database server restarted in
the middle. Afterwards, for every incident: one channel, one report message, every alert
stored once, every host diagnosed, each clicked action executed once as counted by the hosts
and the deploy/flag service, each summary posted once (numbered without a gap or a repeat).
Every /segfault is answered once, also one acknowledged by a replica that died before
answering (another takes the stored request over): the person types one again only when
segbot said it could not take it in (the database restarting).

N is 6 here (CI); SEGBOT_KILL_INCIDENTS=50 runs the full test. SEGBOT_KILL_SEED repeats a run.
"""

from __future__ import annotations

import json
import os
import random
import re
import threading
import time
from collections import Counter
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import yaml

from tests.fleet.fleet import running_fleet, specs
from tests.replicas.cluster import Killer, Person, Replica, State, haproxy, ready, send, until
from tests.replicas.kill_actions import (
    Clicker,
    actions_missing,
    changes,
    hosts_running_containment,
    not_once,
    report_posts,
    services_config,
    tallies,
)
from tests.replicas.private_postgres import PrivatePostgres, private_postgres
from tests.support.effect_server import effect_server
from tests.support.local_http import free_port
from tests.support.slack_emulator import SlackEmulator
from tests.support.slack_harness import BOT_TOKEN, SECRET

INCIDENTS = int(os.environ.get("SEGBOT_KILL_INCIDENTS", "6"))
SEED = int(os.environ.get("SEGBOT_KILL_SEED", str(random.SystemRandom().randrange(1 << 30))))
ALERT_TOKEN = "kill-test-alert-token"
LEASE_SECONDS = "2"
pytestmark = pytest.mark.slow


def _summaries(emulator: SlackEmulator) -> dict[str, list[int]]:
    with emulator.lock:
        messages = list(emulator.messages.values())
    found: dict[str, list[int]] = {}
    for m in messages:
        match = re.search(r"Summary #(\d+)", json.dumps(m.get("blocks") or ""))
        if match:
            found.setdefault(str(m.get("channel")), []).append(int(match.group(1)))
    return found


def test_three_replicas_killed_at_random_finish_every_incident_once(
        tmp_path: Path, emulator: SlackEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(SEED)
    print(f"\nkill test: {INCIDENTS} incidents, seed {SEED} (SEGBOT_KILL_SEED repeats it)")
    with ExitStack() as stack:
        database: PrivatePostgres = stack.enter_context(private_postgres())
        helper = stack.enter_context(hosts_running_containment(monkeypatch))
        effects = stack.enter_context(effect_server())
        fleet = stack.enter_context(running_fleet(specs(2 * INCIDENTS), tmp_path / "fleet"))
        hosts = [s.name for s in fleet.specs]
        config_path = tmp_path / "segbot.yaml"
        config_path.write_text(yaml.safe_dump(services_config(
            json.loads(fleet.config_text()), hosts, effects.url, INCIDENTS)))
        env = {**os.environ, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SECRET,
               "SEGBOT_SLACK_API_URL": emulator.url, "SEGBOT_DATABASE_URL": database.url,
               "SEGBOT_ALERT_TOKEN": ALERT_TOKEN, "SEGBOT_LEASE_SECONDS": LEASE_SECONDS,
               "SEGBOT_CONFIG": str(config_path), "XDG_DATA_HOME": str(tmp_path / "data")}
        env.pop("SLACK_APP_TOKEN", None)
        replicas = [Replica(f"replica-{i}", free_port(), env, tmp_path / f"replica-{i}.log")
                    for i in range(3)]
        for replica in replicas:
            replica.start()
            stack.callback(replica.stop)
        base, balancer = haproxy([r.port for r in replicas], tmp_path)
        stack.callback(balancer.wait, 30)
        stack.callback(balancer.terminate)
        state = State(database.url)
        stack.callback(state.engine.dispose)
        client = stack.enter_context(httpx.Client(timeout=20))
        until("no replica became ready behind HAProxy",
              lambda: ready(client, base), time.monotonic() + 120)

        killer = Killer(replicas, rng)
        killing = threading.Thread(target=killer.run, daemon=True)
        killing.start()
        stack.callback(killer.stop.set)
        clicker = Clicker(emulator, stack.enter_context(httpx.Client(timeout=20)), base, state)
        clicking = threading.Thread(target=clicker.run, daemon=True)
        clicking.start()
        stack.callback(clicker.stop.set)
        deadline = time.monotonic() + 120 + 8 * INCIDENTS
        person = Person(client, base, emulator)
        alerts: dict[str, str] = {}  # alert id -> service
        restarted = False
        for i in range(INCIDENTS):
            service, (first, second) = f"svc-{i:02d}", hosts[2 * i:2 * i + 2]
            for change in changes(service, first, second):  # the deploy system tells segbot
                send(client, f"{base}/changes/generic", deadline,
                     headers={"Authorization": f"Bearer {ALERT_TOKEN}"}, json=change)
            if i % 2:  # a person's /segfault for one host, an alert for the other
                person.type(first, service, deadline)
                crashed = [second]
            else:
                crashed = [first, second]
            for host in crashed:
                alert_id = f"kill-{i}-{host}"
                send(client, f"{base}/alerts/generic", deadline,
                      headers={"Authorization": f"Bearer {ALERT_TOKEN}"},
                      json={"host": host, "service": service, "signal": "SIGSEGV",
                            "id": alert_id, "time": datetime.now(UTC).isoformat()})
                alerts[alert_id] = service
            if i == INCIDENTS // 2 and not restarted:
                database.restart()  # the whole database server, every session cut
                killer.log.append("PostgreSQL restarted")
                restarted = True
            time.sleep(rng.uniform(0.2, 1.0))

        def finished() -> list[str]:
            """What is not done yet (empty: every incident is)."""
            missing = []
            places = {r[0]: r for r in state.rows(
                "SELECT incident_id, channel, report_ts FROM slack_place")}
            incidents = state.rows("SELECT id, service FROM incident")
            if len({s for _, s in incidents}) < INCIDENTS:
                missing.append(f"{len(incidents)} incidents")
            for incident_id, _service in incidents:
                place = places.get(incident_id)
                if place is None or place[2] is None:
                    missing.append(f"report of #{incident_id}")
            done = {r[0] for r in state.rows("SELECT key FROM work_lease WHERE done")}
            for incident_id, host in state.rows("SELECT incident_id, host FROM incident_host"):
                if f"diagnosis:{incident_id}:{host}" not in done:
                    missing.append(f"diagnosis of {host} (#{incident_id})")
            summaries = _summaries(emulator)
            missing += [f"summary in {p[1]}" for p in places.values() if not summaries.get(p[1])]
            person.retype(deadline)
            missing += [f"no answer to /segfault {typed}" for typed in person.unanswered()]
            return missing + actions_missing(state, incidents)

        until("the incidents were not finished while replicas were being killed",
               lambda: not finished() and killer.log.count("PostgreSQL restarted") == 1
               and len(killer.log) >= 5, deadline, finished)
        killer.stop.set()
        killing.join(30)
        for replica in replicas:
            if replica.process is None or replica.process.poll() is not None:
                replica.start()
        time.sleep(3 * float(LEASE_SECONDS))  # every lease of the last killed replica expires
        until("not finished after the kills", lambda: not finished(),
              time.monotonic() + 120, finished)
        clicker.stop.set()
        clicking.join(30)
        until("an action clicked last is still executing", lambda: not state.rows(
            "SELECT id FROM containment_action WHERE state = 'executing'"),
            time.monotonic() + 120)
        print("\n".join(killer.log))
        print(f"kills: {sum(r.kills for r in replicas)} "
              f"({', '.join(f'{r.name} {r.kills}' for r in replicas)})")
        outcomes, problems = not_once(state, effects, helper)
        print(f"actions: {dict(outcomes)}; clicks sent {sum(clicker.clicks.values())} "
              f"on {len(clicker.clicks)} buttons; /segfault lost (typed again after no "
              f"answer): {person.retyped or 'none'}")

        incidents = state.rows("SELECT id, service FROM incident ORDER BY id")
        print(tallies(state, emulator, incidents, _summaries(emulator)))
        by_service = Counter(s for _, s in incidents)
        assert sorted(by_service) == [f"svc-{i:02d}" for i in range(INCIDENTS)]
        assert set(by_service.values()) == {1}, by_service  # one incident each
        places = state.rows("SELECT incident_id, channel, report_ts FROM slack_place")
        assert len(places) == INCIDENTS
        assert len({p[1] for p in places}) == INCIDENTS == len(emulator.channels), (
            places, sorted(c.name for c in emulator.channels.values()))  # one channel each
        reports = report_posts(emulator)
        assert reports == Counter({f"report:{i}": 1 for i, _ in incidents}), reports
        for _incident, channel, ts in places:
            assert (channel, ts) in emulator.messages  # the report recorded is the one posted
        stored = Counter(r[0] for r in state.rows(
            "SELECT alert_key FROM occurrence WHERE source = 'generic'"))
        assert len(stored) == len(alerts) and set(stored.values()) == {1}, stored
        finished_events = {(r[0], r[1]) for r in state.rows(
            "SELECT incident_id, text FROM timeline_event WHERE kind = 'diagnosis'")}
        for incident_id, host in state.rows("SELECT incident_id, host FROM incident_host"):
            assert any(i == incident_id and t.startswith(f"diagnosis of {host} finished")
                       for i, t in finished_events), (incident_id, host)
        for channel, numbers in _summaries(emulator).items():
            assert sorted(numbers) == list(range(1, len(numbers) + 1)), (channel, numbers)
        assert not problems, problems  # each action executed once, counted where it ran
        assert not person.retyped, person.retyped  # every acknowledged /segfault answered
        assert person.answers() == person.accepted, (person.answers(), person.accepted)
        assert not emulator.violations
