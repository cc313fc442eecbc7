"""Fixtures of the scheduling tests: a fake clock that APScheduler itself reads, the Slack
emulator (tests/slack), and a driven scheduler on a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "slack"))

from schedule_clock import T0, FakeClock, frozen_datetime
from slack_emulator import Channel, SlackEmulator
from store.databases import BACKENDS, fresh_database


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock(T0)
    frozen = frozen_datetime(fake)
    # APScheduler 3 asks `datetime.now` in these two modules (due jobs, misfire checks).
    monkeypatch.setattr("apscheduler.schedulers.base.datetime", frozen)
    monkeypatch.setattr("apscheduler.executors.base.datetime", frozen)
    return fake


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from fresh_database(request.param, tmp_path)


class ReadingEmulator(SlackEmulator):
    """The tests' Slack, also answering reactions.get (the text of a 📌'd message)."""

    def _reactions_get(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self.messages.get((str(args.get("channel")), str(args.get("timestamp"))))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        told = {"text": message.get("text"), "ts": message["ts"]}
        if message.get("thread_ts"):
            told["thread_ts"] = message["thread_ts"]
        return {"ok": True, "type": "message", "channel": args.get("channel"), "message": told}


@pytest.fixture
def emulator() -> Iterator[SlackEmulator]:
    emulator = ReadingEmulator().start()
    try:
        emulator.channels["C0INC1"] = Channel("C0INC1", "inc-checkout-api-sigsegv")
        emulator.channels["C0OPS"] = Channel("C0OPS", "crash-ops")
        yield emulator
    finally:
        emulator.stop()

