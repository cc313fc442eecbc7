"""Two `segbot serve` processes on one PostgreSQL database: one holds the scheduler's leader
lock and posts each summary; when it is killed, the other takes over. Every summary is posted
at most once, numbered without a repeat."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from serve_process import start_serve
from slack_emulator import SlackEmulator
from slack_harness import BOT_TOKEN, SECRET
from store.databases import fresh_database

from bot.adapters.store import open_store
from bot.adapters.store.slack_store import SqlSlackStore
from bot.app.incidents import ingest
from bot.app.ports.slack import Place
from bot.domain.alerts import Occurrence

ROOT = Path(__file__).resolve().parents[2]
LEADING = "scheduler: this process runs the scheduled jobs"


@pytest.fixture
def postgres_url(tmp_path: Path) -> Iterator[str]:
    yield from fresh_database("postgresql", tmp_path)


def _serve(tmp: Path, name: str, url: str, emulator: SlackEmulator) -> subprocess.Popen[bytes]:
    config = tmp / "segbot.yaml"
    config.write_text(yaml.safe_dump({
        "hosts": {"node-17": {"address": "127.0.0.1"}},
        "services": {"checkout-api": {"unit": "checkout-api.service",
                                      "binary": "/opt/checkout/bin/checkout-api",
                                      "hosts": ["node-17"]}},
        "schedule": {"summary_minutes": 0.05, "summary_mode": "thread", "sync_seconds": 0.5,
                     "leader_seconds": 0.3, "quiet_minutes": 600}}))
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SECRET,
           "SEGBOT_SLACK_API_URL": emulator.url, "SEGBOT_DATABASE_URL": url,
           "SLACK_APP_TOKEN": None}
    _, process = start_serve(env, tmp / f"{name}.log", ["--config", str(config)])
    return process


def _numbers(emulator: SlackEmulator) -> list[int]:
    found = []
    for call in emulator.called("chat.postMessage"):
        match = re.search(r"Summary #(\d+)", json.dumps(call.args.get("blocks") or ""))
        if match and call.args.get("channel") == "C0INC1":
            found.append(int(match.group(1)))
    return found


def test_two_replicas_post_each_summary_once(postgres_url: str, tmp_path: Path,
                                             emulator: SlackEmulator) -> None:
    store = open_store(postgres_url)
    now = datetime.now(UTC)
    crash = Occurrence(source="generic", key="a-1", host="node-17", service="checkout-api",
                       status="firing", time=now, signal="SIGSEGV", version="2.18.7")
    incident = ingest(store=store, requests=[[crash]], now=now,
                      window=timedelta(minutes=15)).results[0].incidents[0]
    SqlSlackStore(store.engine).add_place(Place(incident, "C0INC1", report_ts="1.000001"), now)
    store.engine.dispose()
    emulator.messages[("C0INC1", "1.000001")] = {"ts": "1.000001", "text": "report",
                                                 "edits": 0}
    with ExitStack() as stack:
        replicas = {}
        for name in ("a", "b"):
            process = _serve(tmp_path, name, postgres_url, emulator)
            stack.callback(_stop, process)
            replicas[name] = process
        deadline = time.monotonic() + 30
        while len(_numbers(emulator)) < 3:
            assert time.monotonic() < deadline, _numbers(emulator)
            time.sleep(0.1)
        leaders = [n for n in replicas if LEADING in (tmp_path / f"{n}.log").read_text()]
        assert len(leaders) == 1, leaders  # one replica leads; the other waits
        replicas[leaders[0]].send_signal(signal.SIGKILL)  # dies holding the lock
        killed = time.monotonic()
        replicas[leaders[0]].wait(10)
        before = len(_numbers(emulator))
        follower = next(n for n in replicas if n != leaders[0])
        while LEADING not in (tmp_path / f"{follower}.log").read_text():
            assert time.monotonic() < killed + 30, "the follower never took the lead"
            time.sleep(0.02)
        print(f"\nhand-over: the follower led {time.monotonic() - killed:.2f} s after the "
              "leader was killed (leader_seconds 0.3)")
        deadline = time.monotonic() + 30
        while len(_numbers(emulator)) < before + 3:
            assert time.monotonic() < deadline, (_numbers(emulator), (
                tmp_path / f"{follower}.log").read_text()[-3000:])
            time.sleep(0.1)
        assert LEADING in (tmp_path / f"{follower}.log").read_text()
    numbers = _numbers(emulator)
    # Each summary once: no number repeated. (The one a killed leader had claimed but not yet
    # posted is skipped, never posted twice.)
    assert numbers == sorted(set(numbers)) and numbers[0] == 1, numbers
    assert not emulator.violations


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        process.wait(20)
