"""Two `segbot serve` replicas in Socket Mode on one PostgreSQL database, each holding its own
connection; Slack spreads the envelopes across the connections (and delivers a click again
on the other one). Each slash command opens one incident with one channel and one report,
each is answered once, and each clicked action runs once as counted where it runs."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections import Counter
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.fleet.fleet import running_fleet, specs
from tests.replicas.cluster import Replica, State, send, until
from tests.replicas.kill_actions import (
    actions_missing,
    buttons,
    changes,
    hosts_running_containment,
    not_once,
    report_posts,
    services_config,
)
from tests.slack.socket_server import SocketModeServer
from tests.support.effect_server import effect_server
from tests.support.local_http import free_port
from tests.support.slack_emulator import SlackEmulator
from tests.support.slack_harness import BOT_TOKEN, click_payload

SERVICES = 3
ALERT_TOKEN = "socket-test-alert-token"
pytestmark = pytest.mark.slow


def _command(emulator: SlackEmulator, text: str) -> dict[str, Any]:
    return {"command": "/segfault", "text": text, "user_id": "U0ALICE", "user_name": "alice",
            "channel_id": "C0GENERAL", "channel_name": "general", "team_id": "T0EMU",
            "api_app_id": "A0SEGBOT", "trigger_id": "1.2.3",
            "response_url": f"{emulator.base}/response/U0ALICE"}


def _reports(emulator: SlackEmulator) -> list[tuple[tuple[str, str], dict[str, Any]]]:
    with emulator.lock:
        return [(key, m) for key, m in emulator.messages.items()
                if (m.get("metadata") or {}).get("event_type") == "segbot_report"]


def test_two_socket_mode_replicas_handle_each_event_once(
        tmp_path: Path, emulator: SlackEmulator, postgres_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    with ExitStack() as stack:
        helper = stack.enter_context(hosts_running_containment(monkeypatch))
        effects = stack.enter_context(effect_server())
        fleet = stack.enter_context(running_fleet(specs(2 * SERVICES), tmp_path / "fleet"))
        hosts = [s.name for s in fleet.specs]
        server = SocketModeServer()
        stack.callback(server.stop)
        emulator.socket_url = server.url
        config_path = tmp_path / "segbot.yaml"
        config_path.write_text(yaml.safe_dump(services_config(
            json.loads(fleet.config_text()), hosts, effects.url, SERVICES)))
        env = {**os.environ, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": "xapp-emulated-0",
               "SEGBOT_SLACK_API_URL": emulator.url, "SEGBOT_DATABASE_URL": postgres_url,
               "SEGBOT_ALERT_TOKEN": ALERT_TOKEN, "SEGBOT_LEASE_SECONDS": "2",
               "SEGBOT_CONFIG": str(config_path), "XDG_DATA_HOME": str(tmp_path / "data")}
        env.pop("SLACK_SIGNING_SECRET", None)
        replicas = [Replica(f"replica-{i}", free_port(), env, tmp_path / f"replica-{i}.log")
                    for i in range(2)]
        for replica in replicas:
            replica.start()
            stack.callback(replica.stop)
        deadline = time.monotonic() + 240
        for replica in replicas:
            replica.wait_ready(threading.Event())
        server.wait_connections(2, 60)  # one connection per replica
        state = State(postgres_url)
        stack.callback(state.engine.dispose)
        client = stack.enter_context(httpx.Client(timeout=20))
        auth = {"Authorization": f"Bearer {ALERT_TOKEN}"}
        commands: list[str] = []
        for i in range(SERVICES):
            service, (first, second) = f"svc-{i:02d}", hosts[2 * i:2 * i + 2]
            web = f"http://127.0.0.1:{replicas[i % 2].port}"
            for change in changes(service, first, second):
                send(client, f"{web}/changes/generic", deadline, headers=auth, json=change)
            commands.append(server.send("slash_commands",
                                        _command(emulator, f"{first} {service}")))
            send(client, f"{web}/alerts/generic", deadline, headers=auth,
                 json={"host": second, "service": service, "signal": "SIGSEGV",
                       "id": f"socket-{i}", "time": datetime.now(UTC).isoformat()})
        for envelope in commands:
            server.ack(envelope, 30)

        def clickable() -> list[tuple[tuple[str, str], dict[str, Any]]]:
            found = [(key, b) for key, m in _reports(emulator) for b in buttons(m)]
            kinds = Counter(b["action_id"].rsplit(":", 1)[-1] for _, b in found)
            return found if len(_reports(emulator)) == SERVICES and all(
                kinds[k] >= SERVICES for k in ("disable_flag", "rollback")) else []

        until("the reports never offered their buttons", lambda: bool(clickable()), deadline,
              lambda: [m.get("text") for _, m in _reports(emulator)])
        clicks = []
        for (channel, ts), button in clickable():
            payload = click_payload(button, user="U0ALICE", channel=channel, ts=ts,
                                    response_base=emulator.base)
            for connection in (0, 1):  # delivered on one connection, then again on the other
                clicks.append(server.send("interactive", payload, to=connection))
        for envelope in clicks:
            server.ack(envelope, 30)
        incidents = state.rows("SELECT id, service FROM incident ORDER BY id")
        until("the clicked actions never finished",
              lambda: not actions_missing(state, incidents), deadline,
              lambda: actions_missing(state, incidents))

        assert sorted(s for _, s in incidents) == [f"svc-{i:02d}" for i in range(SERVICES)]
        assert set(server.sent[e] for e in commands) == {0, 1}  # both replicas took commands
        assert len(emulator.channels) == SERVICES
        assert report_posts(emulator) == Counter({f"report:{i}": 1 for i, _ in incidents})

        def answered() -> Counter[str]:
            return Counter(found[1] for c in emulator.calls if c.method == "response_url"
                           and (found := re.match(r"Incident #(\d+) (opened|joined)",
                                                  str(c.args.get("text", "")))))

        # The answer follows the channel's creation and may land after the actions finished.
        until("a command was not answered", lambda: len(answered()) == SERVICES, deadline,
              lambda: (answered(), [c.args.get("text") for c in emulator.calls
                                    if c.method in ("response_url", "chat.postEphemeral")]))
        assert sorted(answered().values()) == [1] * SERVICES, answered()  # each command once
        outcomes, problems = not_once(state, effects, helper)
        assert not problems, problems
        records = state.rows("SELECT id FROM containment_action")
        assert len(records) == len(clicks) // 2 == sum(outcomes.values())  # once per button
        assert set(outcomes) == {"succeeded"}, outcomes
        assert not emulator.violations

