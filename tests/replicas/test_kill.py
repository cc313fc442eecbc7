"""The kill test: three `segbot serve` replicas behind HAProxy on one PostgreSQL server, N
incidents from alerts and /segfault commands, one replica SIGKILLed at random moments and
restarted, and the whole database server restarted in the middle. Afterwards, for every
incident: one channel, one report message, every alert stored once, every host diagnosed,
each summary posted once (numbered without a gap or a repeat).

N is 6 here (CI); SEGBOT_KILL_INCIDENTS=50 runs the full test. SEGBOT_KILL_SEED repeats a run.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import yaml
from sqlalchemy import create_engine, text

from tests.fleet.fleet import running_fleet, specs
from tests.replicas.private_postgres import PrivatePostgres, private_postgres
from tests.support.local_http import free_port
from tests.support.serve_process import REPO
from tests.support.slack_emulator import SlackEmulator
from tests.support.slack_harness import BOT_TOKEN, SECRET, signed_headers

INCIDENTS = int(os.environ.get("SEGBOT_KILL_INCIDENTS", "6"))
SEED = int(os.environ.get("SEGBOT_KILL_SEED", str(random.SystemRandom().randrange(1 << 30))))
ALERT_TOKEN = "kill-test-alert-token"
LEASE_SECONDS = "2"
pytestmark = pytest.mark.slow


@dataclass
class Replica:
    name: str
    port: int
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    kills: int = 0

    def start(self) -> None:
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "serve", "--port", str(self.port)],
                env=self.env, cwd=REPO, stdout=sink, stderr=subprocess.STDOUT)

    def wait_ready(self, stop: threading.Event) -> None:
        deadline = time.monotonic() + 120
        while not stop.is_set() and time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                self.start()  # it exited (the database was restarting): restarted, as
                # systemd's Restart= or Kubernetes would
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=5
                             ).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            stop.wait(0.2)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(30)
            self.kills += 1

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Killer:
    """Kills one replica at a random moment, restarts it a moment later, until stopped."""

    replicas: list[Replica]
    rng: random.Random
    stop: threading.Event = field(default_factory=threading.Event)
    log: list[str] = field(default_factory=list)

    def run(self) -> None:
        started = time.monotonic()
        while not self.stop.wait(self.rng.uniform(1.0, 3.0)):
            victim = self.rng.choice(self.replicas)
            victim.kill()
            self.log.append(f"{time.monotonic() - started:6.1f}s SIGKILL {victim.name}")
            self.stop.wait(self.rng.uniform(0.2, 1.5))
            victim.start()
            victim.wait_ready(self.stop)  # one replica down at a time: kill the next later


def _haproxy(ports: list[int], tmp: Path) -> tuple[str, subprocess.Popen[bytes]]:
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(haproxy).exists():
        pytest.skip("haproxy not installed (.ci/setup.d/55-replicas.sh installs it)")
    port = free_port()
    servers = "\n".join(f"    server r{i} 127.0.0.1:{p} check" for i, p in enumerate(ports))
    config = tmp / "haproxy.cfg"
    config.write_text(f"""global
    maxconn 2000
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    retries 3
    option redispatch
    retry-on conn-failure empty-response
frontend segbot
    bind 127.0.0.1:{port}
    default_backend segbot
backend segbot
    balance roundrobin
    option httpchk GET /readyz
    default-server inter 300ms fall 1 rise 1
{servers}
""")
    with (tmp / "haproxy.log").open("ab") as sink:
        process = subprocess.Popen([haproxy, "-f", str(config), "-db"], stdout=sink,
                                   stderr=subprocess.STDOUT)
    return f"http://127.0.0.1:{port}", process


def _config(fleet_config: dict[str, Any], hosts: list[str]) -> dict[str, Any]:
    services = {f"svc-{i:02d}": {"unit": "checkout-api.service",
                                 "binary": "/opt/checkout/bin/checkout-api",
                                 "hosts": hosts[2 * i:2 * i + 2]}
                for i in range(INCIDENTS)}
    return {**fleet_config, "services": services,
            "slack": {"report_min_interval_seconds": 0.5, "report_global_interval_seconds": 0.1,
                      "poll_seconds": 0.5},
            "authorization": {"rerun": ["U0ALICE"], "resolve": ["U0ALICE"]},
            "schedule": {"summary_minutes": 0.1, "summary_mode": "thread", "sync_seconds": 0.5,
                         "leader_seconds": 0.3, "quiet_minutes": 600}}


def _until(what: str, done: Callable[[], bool], deadline: float,
           why: Callable[[], object] = lambda: "") -> None:
    while not done():
        assert time.monotonic() < deadline, f"{what}: {why()}"
        time.sleep(0.25)


def _send(client: httpx.Client, url: str, deadline: float, **request: Any) -> None:
    """Sent until a replica accepts it, as Alertmanager re-sends (and a person re-types)."""
    while True:
        try:
            answer = client.post(url, **request)
            if answer.status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{url} never accepted the request"
        time.sleep(0.2)


def _slash(client: httpx.Client, base: str, emulator: SlackEmulator, text_: str,
           deadline: float) -> None:
    body = urlencode({
        "token": "unused", "team_id": "T0EMU", "team_domain": "emulated",
        "channel_id": "C0GENERAL", "channel_name": "general", "user_id": "U0ALICE",
        "user_name": "alice", "command": "/segfault", "text": text_, "api_app_id": "A0SEGBOT",
        "response_url": f"{emulator.base}/response/U0ALICE", "trigger_id": "1337.42.abcd"})
    while True:  # signed afresh each try: Slack's timestamp window
        try:
            answer = client.post(f"{base}/slack/events", content=body,
                                 headers=signed_headers(body))
            if answer.status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "no replica took the slash command"
        time.sleep(0.2)


class State:
    """What the database says, read as the checks need it."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url, pool_pre_ping=True)

    def rows(self, sql: str) -> list[Any]:
        try:
            with self.engine.connect() as connection:
                return list(connection.execute(text(sql)))
        except Exception:  # the database is restarting: nothing to read yet
            return []


def _report_posts(emulator: SlackEmulator) -> Counter[str]:
    with emulator.lock:
        messages = list(emulator.messages.values())
    return Counter(m["metadata"]["event_payload"]["claim"] for m in messages
                   if (m.get("metadata") or {}).get("event_type") == "segbot_report")


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
        tmp_path: Path, emulator: SlackEmulator) -> None:
    rng = random.Random(SEED)
    print(f"\nkill test: {INCIDENTS} incidents, seed {SEED} (SEGBOT_KILL_SEED repeats it)")
    with ExitStack() as stack:
        database: PrivatePostgres = stack.enter_context(private_postgres())
        fleet = stack.enter_context(running_fleet(specs(2 * INCIDENTS), tmp_path / "fleet"))
        hosts = [s.name for s in fleet.specs]
        config_path = tmp_path / "segbot.yaml"
        config_path.write_text(yaml.safe_dump(_config(json.loads(fleet.config_text()), hosts)))
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
        base, haproxy = _haproxy([r.port for r in replicas], tmp_path)
        stack.callback(haproxy.wait, 30)
        stack.callback(haproxy.terminate)
        state = State(database.url)
        stack.callback(state.engine.dispose)
        client = stack.enter_context(httpx.Client(timeout=20))
        _until("no replica became ready behind HAProxy",
               lambda: _ready(client, base), time.monotonic() + 120)

        killer = Killer(replicas, rng)
        killing = threading.Thread(target=killer.run, daemon=True)
        killing.start()
        stack.callback(killer.stop.set)
        deadline = time.monotonic() + 120 + 8 * INCIDENTS
        alerts: dict[str, str] = {}  # alert id -> service
        restarted = False
        for i in range(INCIDENTS):
            service, (first, second) = f"svc-{i:02d}", hosts[2 * i:2 * i + 2]
            if i % 2:  # a person's /segfault for one host, an alert for the other
                _slash(client, base, emulator, f"{first} {service}", deadline)
                crashed = [second]
            else:
                crashed = [first, second]
            for host in crashed:
                alert_id = f"kill-{i}-{host}"
                _send(client, f"{base}/alerts/generic", deadline,
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
            return missing

        _until("the incidents were not finished while replicas were being killed",
               lambda: not finished() and killer.log.count("PostgreSQL restarted") == 1
               and len(killer.log) >= 5, deadline, finished)
        killer.stop.set()
        killing.join(30)
        for replica in replicas:
            if replica.process is None or replica.process.poll() is not None:
                replica.start()
        time.sleep(3 * float(LEASE_SECONDS))  # every lease of the last killed replica expires
        _until("not finished after the kills", lambda: not finished(),
               time.monotonic() + 120, finished)
        print("\n".join(killer.log))
        print(f"kills: {sum(r.kills for r in replicas)} "
              f"({', '.join(f'{r.name} {r.kills}' for r in replicas)})")

        incidents = state.rows("SELECT id, service FROM incident ORDER BY id")
        by_service = Counter(s for _, s in incidents)
        assert sorted(by_service) == [f"svc-{i:02d}" for i in range(INCIDENTS)]
        assert set(by_service.values()) == {1}, by_service  # one incident each
        places = state.rows("SELECT incident_id, channel, report_ts FROM slack_place")
        assert len(places) == INCIDENTS
        assert len({p[1] for p in places}) == INCIDENTS == len(emulator.channels), (
            places, sorted(c.name for c in emulator.channels.values()))  # one channel each
        reports = _report_posts(emulator)
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
        assert not emulator.violations


def _ready(client: httpx.Client, base: str) -> bool:
    try:
        return client.get(f"{base}/readyz").status_code == 200
    except httpx.TransportError:
        return False
