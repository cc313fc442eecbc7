"""`segbot serve` as a process: /slack/events on the same server as the alert routes, every
request verified with the signing secret; wrong signatures and stale timestamps refused."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
import yaml

from tests.support.serve_process import segbot_serve
from tests.support.slack_emulator import SlackEmulator, running_emulator
from tests.support.slack_harness import BOT_TOKEN, SECRET, signed_headers

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, SlackEmulator]]:
    tmp = tmp_path_factory.mktemp("serve")
    config = tmp / "segbot.yaml"
    config.write_text(yaml.safe_dump({
        "hosts": {"node-17": {"address": "127.0.0.1"}},
        "services": {"checkout-api": {"unit": "checkout-api.service",
                                      "binary": "/opt/checkout/bin/checkout-api",
                                      "hosts": ["node-17"]}}}))
    with running_emulator() as emulator:
        env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SECRET,
               "SEGBOT_SLACK_API_URL": emulator.url, "XDG_DATA_HOME": str(tmp / "data"),
               "SLACK_APP_TOKEN": None}
        with segbot_serve(env, tmp / "serve.log", ["--config", str(config)]) as (url, _):
            yield url, emulator


def _body(text: str) -> str:
    return urlencode({"command": "/segfault", "text": text, "user_id": "U0ALICE",
                      "channel_id": "C0GENERAL", "team_id": "T0EMU",
                      "response_url": "http://127.0.0.1:9/response", "trigger_id": "1.2.3"})


def test_signed_slash_command_is_answered(served: tuple[str, SlackEmulator]) -> None:
    url, _ = served
    body = _body("help")
    answer = httpx.post(f"{url}/slack/events", content=body, headers=signed_headers(body))
    assert answer.status_code == 200
    assert "/segfault HOST SERVICE" in answer.json()["text"]


@pytest.mark.parametrize("signing", [
    {"secret": "not-the-secret"},
    {"timestamp": int(time.time()) - 6 * 60},  # outside Slack's 5-minute window
    {"signature": "v0=" + "0" * 64},
])
def test_forged_or_stale_requests_are_refused(served: tuple[str, SlackEmulator],
                                              signing: dict[str, object]) -> None:
    url, emulator = served
    before = len(emulator.calls)
    body = _body("node-17 checkout-api")
    answer = httpx.post(f"{url}/slack/events", content=body,
                        headers=signed_headers(body, **signing))  # type: ignore[arg-type]
    assert answer.status_code == 401
    time.sleep(0.3)
    assert len(emulator.calls) == before and not emulator.channels


def test_a_body_changed_after_signing_is_refused(served: tuple[str, SlackEmulator]) -> None:
    url, emulator = served
    headers = signed_headers(_body("help"))
    answer = httpx.post(f"{url}/slack/events", content=_body("node-17 checkout-api"),
                        headers=headers)
    assert answer.status_code == 401 and not emulator.channels
