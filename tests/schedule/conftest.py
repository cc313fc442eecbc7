"""Fixtures of the scheduling tests: a fake clock that APScheduler itself reads and the Slack
emulator answering reactions.get."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.schedule.schedule_clock import T0, FakeClock, frozen_datetime
from tests.support.slack_emulator import Channel, SlackEmulator


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock(T0)
    frozen = frozen_datetime(fake)
    # APScheduler 3 asks `datetime.now` in these two modules (due jobs, misfire checks).
    monkeypatch.setattr("apscheduler.schedulers.base.datetime", frozen)
    monkeypatch.setattr("apscheduler.executors.base.datetime", frozen)
    return fake


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

