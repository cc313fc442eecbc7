"""The intake's writer process: it starts with the server, ends with it, and when it dies in
the middle of a storm the requests it held are refused (503, so Alertmanager re-sends) and the
next one gets a new writer."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from bot.adapters.store import open_store
from bot.adapters.web.intake import Intake
from bot.adapters.web.metrics import intake_metrics
from bot.domain.alerts import Occurrence
from bot.errors import StoreError
from web.payloads import am_alert, am_webhook
from web.server import TOKEN, running_server

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _writers() -> list[int]:
    """The intake writers started by this test process (the server runs in a thread of it)."""
    me = os.getpid()
    found = []
    for task in Path(f"/proc/{me}/task").iterdir():
        # Threads and children come and go while we look; one that has gone is not a writer.
        with contextlib.suppress(OSError):
            for child in (task / "children").read_text().split():
                with contextlib.suppress(OSError):
                    cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
                    if b"intake-writer" in cmdline:
                        found.append(int(child))
    return found


def _alert(client: httpx.Client, n: int) -> int:
    return client.post("/alerts/alertmanager", json=am_webhook([am_alert(n=n)]),
                       headers=AUTH).status_code


def test_a_dead_writer_is_replaced_and_nothing_acknowledged_is_lost(database_url: str) -> None:
    with running_server(database_url) as server, httpx.Client(base_url=server.url,
                                                               timeout=30) as client:
        assert _alert(client, 1) == 200
        (first,) = _writers()
        os.kill(first, signal.SIGKILL)
        acknowledged, deadline = {1}, time.monotonic() + 20
        n = 2
        while len(acknowledged) < 4:
            assert time.monotonic() < deadline, "no new writer"
            if _alert(client, n) == 200:  # 503 while the death is noticed: re-sent, like AM
                acknowledged.add(n)
                n += 1
        (second,) = _writers()
        assert second != first
        (incident,) = server.store.list_incidents()
        assert incident.occurrences == len(acknowledged)
    assert _writers() == []  # the server's shutdown ended its writer


def test_a_writer_that_stops_answering_fails_its_requests_in_time(tmp_path: Path) -> None:
    """A hung writer (SIGSTOP: alive, silent) must not hold requests forever: they fail as a
    retryable StoreError at the acknowledgement deadline, and the intake works on after."""
    store = open_store(f"sqlite:///{tmp_path / 'segbot.db'}")
    intake = Intake(store=store, database_url=str(store.engine.url), trigger=lambda _: None,
                    metrics=intake_metrics(), window_seconds=900, ack_timeout=4.0)

    async def scenario() -> tuple[int, int, float]:
        await intake.start()
        try:
            first = await intake.take([_occurrence(1)])
            writer = _writers()[0]
            os.kill(writer, signal.SIGSTOP)
            started = time.monotonic()
            try:
                with pytest.raises(StoreError, match="did not commit in time"):
                    await asyncio.wait_for(intake.take([_occurrence(2)]), 30)
                waited = time.monotonic() - started
            finally:
                os.kill(writer, signal.SIGCONT)
            later = await intake.take([_occurrence(3)])
            return first.accepted, later.accepted, waited
        finally:
            await intake.stop()

    first, later, waited = asyncio.run(scenario())
    assert (first, later) == (1, 1)
    assert 3.9 <= waited < 20
    # The timed-out alert may still have been committed when the writer woke: that is why
    # the answer is 503 (re-send) and re-sends count once.
    assert 2 <= store.list_incidents()[0].occurrences <= 3
    store.engine.dispose()


def _occurrence(n: int) -> Occurrence:
    return Occurrence(source="generic", key=f"generic:{n}", host="node-1",
                      service="checkout-api", status="firing", time=datetime.now(UTC))
