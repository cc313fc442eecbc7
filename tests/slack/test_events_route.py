"""POST /slack/events over real HTTP: a body over the limit is refused while it is still being
sent (never read whole), and a request with a bad signature is logged by its size and digest,
never its content."""

from __future__ import annotations

import hashlib
import logging
import select
import socket
from urllib.parse import urlsplit

import pytest

from tests.support.slack_harness import LocalRunner, Running, signed_headers

CHUNK = 64 << 10
TOTAL = 128 << 20  # far more than the 1 MiB limit


def _stream(url: str, path: str) -> tuple[int, bytes]:
    """Send a chunked POST until the server answers; (bytes sent by then, the answer)."""
    parts = urlsplit(url)
    sent = 0
    with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=60) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: segbot\r\nTransfer-Encoding: chunked\r\n"
                     "Content-Type: application/x-www-form-urlencoded\r\n\r\n".encode())
        chunk = f"{CHUNK:x}\r\n".encode() + b"a" * CHUNK + b"\r\n"
        try:
            while sent < TOTAL:
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    break
                sock.sendall(chunk)
                sent += CHUNK
            else:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed while we were still sending
        answer = sock.recv(4096)
    return sent, answer


def test_an_oversized_body_is_refused_before_it_is_read(
        local_bot: tuple[Running, LocalRunner]) -> None:
    bot, _ = local_bot
    sent, answer = _stream(bot.url, "/slack/events")
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < TOTAL // 4, f"the server read {sent} bytes before refusing"


def test_a_bad_signature_is_logged_without_the_body(
        local_bot: tuple[Running, LocalRunner], caplog: pytest.LogCaptureFixture) -> None:
    bot, runner = local_bot
    body = "command=%2Fsegfault&text=node-17+checkout-api&user_id=U0ALICE&secret=MARKER-4f1c"
    headers = signed_headers(body, signature="v0=" + "0" * 64)
    with caplog.at_level(logging.DEBUG):
        answer = bot.http.post(f"{bot.url}/slack/events", content=body, headers=headers)
    assert answer.status_code == 401
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "MARKER-4f1c" not in logged and "node-17" not in logged, logged
    digest = hashlib.sha256(body.encode()).hexdigest()[:16]
    assert f"{len(body)} bytes" in logged and digest in logged, logged
    assert not bot.emulator.channels and not runner.commands
