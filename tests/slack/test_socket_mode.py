"""Socket Mode (SLACK_APP_TOKEN set): no public URL and no /slack/events; Slack's envelopes
arrive over the WebSocket that apps.connections.open points to, and are acknowledged there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.slack.socket_server import SocketModeServer
from tests.support.slack_harness import Running, running_bot

CONFIG: dict[str, Any] = {
    "hosts": {"node-17": {"address": "127.0.0.1"}},
    "services": {"checkout-api": {"unit": "checkout-api.service",
                                  "binary": "/opt/checkout/bin/checkout-api", "hosts": []}},
}


@pytest.fixture
def socket_bot(tmp_path: Path) -> Iterator[tuple[Running, SocketModeServer]]:
    server = SocketModeServer()
    try:
        with running_bot(tmp_path, CONFIG, socket_url=server.url) as bot:
            assert server.connected.wait(15), "the app never opened the Socket Mode link"
            yield bot, server
    finally:
        server.stop()


def _command(text: str) -> dict[str, Any]:
    return {"command": "/segfault", "text": text, "user_id": "U0ALICE",
            "channel_id": "C0GENERAL", "team_id": "T0EMU", "api_app_id": "A0SEGBOT",
            "response_url": "http://127.0.0.1:9/response", "trigger_id": "1.2.3"}


def test_commands_arrive_over_the_socket(socket_bot: tuple[Running, SocketModeServer]) -> None:
    bot, server = socket_bot
    assert [c.method for c in bot.emulator.calls if c.method == "apps.connections.open"]
    ack = server.ack(server.send("slash_commands", _command("help")))
    assert "/segfault HOST SERVICE" in ack["text"] and ack["response_type"] == "ephemeral"
    ack = server.ack(server.send("slash_commands", _command("node-17 nginx")))
    assert "unknown service" in ack["text"]


def test_no_http_endpoint_in_socket_mode(socket_bot: tuple[Running, SocketModeServer]) -> None:
    bot, _ = socket_bot
    answer = httpx.post(f"{bot.url}/slack/events", content="payload=%7B%7D")
    assert answer.status_code in (404, 405)
