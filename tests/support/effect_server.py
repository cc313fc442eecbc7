"""A local deploy/flag service for the tests: a real HTTP server on a free loopback port that
records every request and applies each change at most once per Idempotency-Key (as deploy and
flag services that honour the header do). It can answer normally, fail (500), hang (apply late,
answer later than the client waits), or apply the change and then drop the connection."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from tests.support.local_http import JsonHandler, serving


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class EffectServer:
    mode: str = "ok"  # ok | fail | hang | drop
    hang_seconds: float = 3.0
    requests: list[Seen] = field(default_factory=list)
    effects: list[tuple[str, Any]] = field(default_factory=list)  # (path, body) applied
    flags: dict[str, bool] = field(default_factory=lambda: {"pricing_v4": True})
    reply: Any = None  # set: the body of a successful answer
    url: str = ""
    _applied: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def apply(self, seen: Seen) -> None:
        key = seen.headers.get("idempotency-key")
        with self._lock:
            if key is not None and key in self._applied:
                return
            if key is not None:
                self._applied.add(key)
            self.effects.append((seen.path, seen.body))
            if "/flags/" in seen.path:
                self.flags[seen.path.rsplit("/", 2)[-2]] = False


@contextmanager
def effect_server() -> Iterator[EffectServer]:
    state = EffectServer()

    class Handler(JsonHandler):
        protocol_version = "HTTP/1.1"

        def _seen(self) -> Seen:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            seen = Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                        json.loads(raw) if raw else None)
            state.requests.append(seen)
            return seen

        def do_GET(self) -> None:
            seen = self._seen()
            name = seen.path.rstrip("/").rsplit("/", 1)[-1]
            self.send_json(200, {"name": name, "enabled": state.flags.get(name, False)})

        def do_POST(self) -> None:
            seen = self._seen()
            mode = state.mode
            if mode == "fail":
                self.send_json(500, {"error": "deploy system unavailable"})
                return
            if mode == "hang":
                time.sleep(state.hang_seconds)
                state.apply(seen)
                with suppress(OSError):  # the client gave up long ago
                    self.send_json(200, {"status": "applied late"})
                return
            state.apply(seen)
            if mode == "drop":  # the change is made; the answer never comes
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            self.send_json(200, state.reply or {"status": "accepted"})

        do_PATCH = do_POST
        do_PUT = do_POST

    with serving(Handler) as url:
        state.url = url
        yield state
