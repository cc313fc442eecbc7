"""The Slack emulator on the wire: Web API calls (form or JSON), response_url answers, file
uploads and downloads, and the faults (429 with Retry-After, 5xx) a test asks for."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from tests.support.slack_checks import message_problems

if TYPE_CHECKING:
    from tests.support.slack_emulator import SlackEmulator


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    at: float
    status: int = 200


@dataclass
class Fault:
    status: int
    times: int
    retry_after: int | None = None


def handler_for(emulator: SlackEmulator) -> type[BaseHTTPRequestHandler]:
    """The request handler class that serves `emulator` over HTTP."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            if urlsplit(self.path).path.startswith("/api/"):  # conversations.history etc.
                self._api(urlsplit(self.path), b"")
                return
            name = urlsplit(self.path).path.removeprefix("/files/")
            authed = (self.headers.get("Authorization") or "").startswith("Bearer xoxb-")
            with emulator.lock:
                emulator.calls.append(Call("files.download", {"name": name},
                                           time.monotonic(), 200 if authed else 403))
                body = emulator.served_files.get(name)
            if not authed or body is None:
                self._send(403 if not authed else 404, b"", "text/plain")
                return
            self._send(200, body, "text/plain")

        def do_POST(self) -> None:
            url = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if url.path.startswith("/response/"):  # a response_url: /response/USER
                user = url.path.split("/")[2]
                if len(body) < int(self.headers.get("Content-Length") or 0) or not body:
                    self._send(400, b"invalid_payload", "text/plain")  # its sender died
                    return
                with emulator.lock:
                    fault = self._fault("response_url")
                if fault is not None:  # expired or used up, as Slack's do
                    self._send(fault.status, b"expired_url", "text/plain")
                    return
                with emulator.lock:
                    emulator.calls.append(Call("response_url", json.loads(body),
                                               time.monotonic()))
                    problems = message_problems(json.loads(body))
                    if problems:
                        emulator.violations.append(("response_url", problems))
                    emulator.ephemeral.append({**json.loads(body), "user": user,
                                               "via": "response_url"})
                self._send(200, b"ok", "text/plain")
                return
            if url.path.startswith("/upload/"):
                file_id = url.path.rsplit("/", 1)[-1]
                with emulator.lock:
                    emulator.files[file_id]["content"] = body
                self._send(200, b"OK - %d" % len(body), "text/plain")
                return
            self._api(url, body)

        def _api(self, url: Any, body: bytes) -> None:
            method = url.path.removeprefix("/api/")
            args: dict[str, Any] = dict(parse_qsl(url.query))
            kind = self.headers.get("Content-Type", "")
            if body and "json" in kind:
                args.update(json.loads(body))
            elif body:
                args.update(parse_qsl(body.decode()))
            token = "xapp-" if method == "apps.connections.open" else "xoxb-"
            if not (self.headers.get("Authorization") or "").startswith(f"Bearer {token}"):
                self._json(200, {"ok": False, "error": "not_authed"})
                return
            with emulator.lock:
                held = emulator.holds.get(method)
            if held is not None and not held.released.is_set():
                held.reached.set()
                held.released.wait(120)
            with emulator.lock:
                fault = self._fault(method)
                emulator.calls.append(Call(method, args, time.monotonic(),
                                           fault.status if fault else 200))
                if fault is None:
                    answer = emulator.answer(method, args)
            if fault is not None:
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
                self._json(fault.status, {"ok": False, "error": "ratelimited"
                                          if fault.status == 429 else "fatal_error"}, headers)
                return
            self._json(200, answer)

        def _fault(self, method: str) -> Fault | None:
            queue = emulator.faults.get(method) or []
            if not queue:
                return None
            fault = queue[0]
            fault.times -= 1
            if fault.times <= 0:
                queue.pop(0)
            return fault

        def _json(self, status: int, data: dict[str, Any],
                  headers: dict[str, str] | None = None) -> None:
            self._send(status, json.dumps(data).encode(), "application/json", headers)

        def _send(self, status: int, body: bytes, kind: str,
                  headers: dict[str, str] | None = None) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the caller died waiting (a test killed it): Slack's answer goes nowhere

    return Handler
