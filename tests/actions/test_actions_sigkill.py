"""SIGKILL a real `segbot serve` between an action's intent and its result: the restarted bot
says "outcome unknown" in the incident's channel once, and never calls the deploy system again
(not on restart, not on a second restart, not when the button is clicked again)."""

from __future__ import annotations

import json
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx
from effect_server import EffectServer, effect_server
from serve_process import segbot_serve
from slack_emulator import Channel, SlackEmulator, running_emulator
from slack_harness import BOT_TOKEN, SECRET, signed_headers

from bot.adapters.store import open_store
from bot.adapters.store.slack_store import SqlSlackStore
from bot.app.ports.slack import Place, Proposal
from bot.domain.incident import Status

REPO = Path(__file__).resolve().parents[2]
CHANNEL = "C0INC0001"


def _config(path: Path, url: str) -> Path:
    path.write_text(json.dumps({  # JSON is YAML
        "hosts": {"node-17": {"address": "127.0.0.1"}},
        "services": {"checkout-api": {
            "unit": "checkout-api.service", "binary": "/opt/checkout/bin/checkout-api",
            "hosts": ["node-17"],
            "actions": {"rollback": {"url": url + "/deploys/{service}/rollback",
                                     "body": {"to": "{to_version}"}, "timeout": 120}}}},
        "slack": {"poll_seconds": 0.3, "report_min_interval_seconds": 0.2},
        "authorization": {"rollback": ["U0BOB"]},
    }))
    return path


def _click(url: str, proposal_id: str, emulator: SlackEmulator) -> None:
    payload = {
        "type": "block_actions", "team": {"id": "T0EMU", "domain": "emulated"},
        "user": {"id": "U0BOB", "username": "bob", "team_id": "T0EMU"},
        "api_app_id": "A0SEGBOT", "token": "unused", "trigger_id": "1.2.3",
        "container": {"type": "message", "message_ts": "1700000000.000001",
                      "channel_id": CHANNEL, "is_ephemeral": False},
        "channel": {"id": CHANNEL, "name": "inc"},
        "message": {"type": "message", "ts": "1700000000.000001", "text": "report"},
        "response_url": f"{emulator.base}/response/U0BOB",
        "actions": [{"type": "button", "action_id": "proposal:0:rollback", "block_id": "b",
                     "value": proposal_id, "text": {"type": "plain_text", "text": "Roll back"},
                     "action_ts": str(time.time())}]}
    body = urlencode({"payload": json.dumps(payload)})
    answer = httpx.post(f"{url}/slack/events", content=body, headers=signed_headers(body),
                        timeout=10)
    assert answer.status_code == 200, answer.text


def _unknown(emulator: SlackEmulator) -> list[str]:
    return [str(m.get("text")) for m in emulator.messages.values()
            if "outcome unknown" in str(m.get("text"))]


def _posts(server: EffectServer) -> int:
    return sum(r.method == "POST" for r in server.requests)


def test_sigkill_between_intent_and_result(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'segbot.db'}"
    store = open_store(database)
    now = datetime.now(UTC)
    with store.transaction() as tx:
        incident = tx.create_incident(service="checkout-api", signature="SIGSEGV price_v4",
                                      status=Status.INVESTIGATING, at=now, seen=now)
    slack = SqlSlackStore(store.engine)
    slack.add_place(Place(incident, CHANNEL), now)
    slack.add_proposal(Proposal(
        id="kill-me-1", incident_id=incident, action="rollback",
        target={"service": "checkout-api", "version": "2.18.7", "to_version": "2.18.6"},
        state="open", created_at=now, expires_at=now + timedelta(hours=1)))
    store.engine.dispose()
    log = tmp_path / "serve.log"
    with effect_server() as server, running_emulator() as emulator:
        emulator.channels[CHANNEL] = Channel(CHANNEL, "inc-checkout", members={"U0BOT"})
        server.mode, server.hang_seconds = "hang", 60  # the deploy system takes its time
        env = {"SEGBOT_CONFIG": str(_config(tmp_path / "segbot.yaml", server.url)),
               "SEGBOT_DATABASE_URL": database, "SLACK_BOT_TOKEN": BOT_TOKEN,
               "SLACK_SIGNING_SECRET": SECRET, "SEGBOT_SLACK_API_URL": emulator.url,
               "SEGBOT_ALERT_TOKEN": "t"}
        with segbot_serve(env, log) as (url, process):
            _click(url, "kill-me-1", emulator)
            emulator.wait_for(lambda: _posts(server) == 1, 30)  # intent written, call made
            process.send_signal(signal.SIGKILL)
            process.wait(10)
        assert _unknown(emulator) == []
        for _ in range(2):  # restarted, and restarted again
            with segbot_serve(env, log) as (url, _):
                emulator.wait_for(lambda: len(_unknown(emulator)) >= 1, 30)
                _click(url, "kill-me-1", emulator)  # and the button clicked again
                emulator.wait_for(lambda: any("already" in e.get("text", "")
                                              for e in emulator.ephemeral), 30)
                time.sleep(1)
        [notice] = _unknown(emulator)
        assert "It will not be run again" in notice and "U0BOB" in notice
        assert _posts(server) == 1, server.requests
        assert server.requests[0].headers["idempotency-key"] == "kill-me-1"
