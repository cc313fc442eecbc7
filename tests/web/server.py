"""A real segbot HTTP server on a free loopback port, in a thread of the test process."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from bot.adapters.store import open_store
from bot.config import config_from
from bot.domain.incident import DiagnosisRequest
from bot.wiring.serve import web_app

TOKEN = "test-alert-token"


@dataclass
class Recorder:
    requests: list[DiagnosisRequest] = field(default_factory=list)

    def __call__(self, request: DiagnosisRequest) -> None:
        self.requests.append(request)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Running:
    url: str
    store: Any
    diagnoses: Recorder


@contextmanager
def running_server(
    database_url: str,
    *,
    environ: Mapping[str, str] | None = None,
    config: Mapping[str, Any] | None = None,
) -> Iterator[Running]:
    store = open_store(database_url)
    recorder = Recorder()
    env = {"SEGBOT_ALERT_TOKEN": TOKEN} if environ is None else dict(environ)
    app = web_app(store=store, config=config_from(config or {}), environ=env, trigger=recorder)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
    ))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield Running(f"http://127.0.0.1:{port}", store, recorder)
    finally:
        server.should_exit = True
        thread.join(20)
        store.engine.dispose()
