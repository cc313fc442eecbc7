"""Replicas of `segbot serve` as child processes, a killer that SIGKILLs one at a random
moment and restarts it, HAProxy in front of them, and helpers to send to them until one
accepts (as Slack and Alertmanager retry) and to read the shared database."""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.support.local_http import free_port
from tests.support.serve_process import REPO
from tests.support.slack_emulator import SlackEmulator
from tests.support.slack_harness import click_payload, signed_headers


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


def haproxy(ports: list[int], tmp: Path) -> tuple[str, subprocess.Popen[bytes]]:
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


def until(what: str, done: Callable[[], bool], deadline: float,
           why: Callable[[], object] = lambda: "") -> None:
    while not done():
        assert time.monotonic() < deadline, f"{what}: {why()}"
        time.sleep(0.25)


def send(client: httpx.Client, url: str, deadline: float, **request: Any) -> None:
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


def slash(client: httpx.Client, base: str, emulator: SlackEmulator, text_: str,
           deadline: float) -> str:
    """Sent until a replica acknowledges it; the acknowledgement's text."""
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
                return str(answer.json().get("text") or "") if answer.content else ""
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


def click(client: httpx.Client, base: str, emulator: SlackEmulator, *, channel: str, ts: str,
          button: dict[str, Any], user: str = "U0ALICE") -> bool:
    """One click of a report's button (after its confirm dialog), signed as Slack does;
    False when no replica took it (a person clicks again)."""
    payload = click_payload(button, user=user, channel=channel, ts=ts,
                            response_base=emulator.base)
    body = urlencode({"payload": json.dumps(payload)})
    try:
        answer = client.post(f"{base}/slack/events", content=body, headers=signed_headers(body))
    except httpx.TransportError:
        return False
    return answer.status_code == 200


def ready(client: httpx.Client, base: str) -> bool:
    try:
        return client.get(f"{base}/readyz").status_code == 200
    except httpx.TransportError:
        return False


@dataclass
class Person:
    """Types `/segfault HOST SERVICE`; types it again at once when segbot says it could not
    take it in (its database was away), and after `patience` with no answer (counted in
    `retyped`: a lost command)."""

    client: httpx.Client
    base: str
    emulator: SlackEmulator
    patience: float = 60.0
    typed: dict[str, float] = field(default_factory=dict)  # host -> when last typed
    refused: set[str] = field(default_factory=set)  # told to type it again
    accepted: Counter[str] = field(default_factory=Counter)  # acknowledged as taken in
    retyped: list[str] = field(default_factory=list)

    def type(self, host: str, service: str, deadline: float) -> None:
        typed = f"{host} {service}"
        acked = slash(self.client, self.base, self.emulator, typed, deadline)
        self.typed[typed] = time.monotonic()
        if "type it again" in acked:
            self.refused.add(typed)
        else:
            self.refused.discard(typed)
            self.accepted[typed] += 1

    def answers(self) -> Counter[str]:
        """How many answers each typed command got (one per acknowledged typing)."""
        with self.emulator.lock:
            said = [str(c.args.get("text", "")) for c in self.emulator.calls
                    if c.method == "response_url"]
        return Counter({typed: sum(f"Diagnosing {typed.split(' ', 1)[0]};" in t for t in said)
                        for typed in self.typed})

    def unanswered(self) -> list[str]:
        with self.emulator.lock:
            said = " ".join(str(c.args.get("text", "")) for c in self.emulator.calls
                            if c.method == "response_url")
        return [typed for typed in self.typed
                if f"Diagnosing {typed.split(' ', 1)[0]};" not in said]

    def retype(self, deadline: float) -> None:
        """Again, each command segbot refused (after a moment) or left unanswered longer
        than `patience`."""
        for typed in self.unanswered():
            waited = time.monotonic() - self.typed[typed]
            if (typed in self.refused and waited > 1) or waited > self.patience:
                if typed not in self.refused:
                    self.retyped.append(typed)
                host, service = typed.split(" ", 1)
                self.type(host, service, deadline)
