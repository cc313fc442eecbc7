"""The intake's writer process: it starts with the server, ends with it, and when it dies in
the middle of a storm the requests it held are refused (503, so Alertmanager re-sends) and the
next one gets a new writer."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import httpx

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
                    if b"bot.adapters.web.writer_process" in cmdline:
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
