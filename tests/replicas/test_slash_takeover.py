"""A `/segfault` acknowledged by a replica that is SIGKILLed before it answers: two real
`segbot serve` replicas on one PostgreSQL database, the command sent to one of them (over
HTTP, or over its own Socket Mode connection), which is held (by the Slack emulator) at an
exact point and killed there: before it recorded the request (authorizing the person against
a user group) and after (creating the channel). The other replica takes the stored request
over and answers the person once, with one incident, one channel, one timeline line for the
command and the host diagnosed."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.fleet.fleet import running_fleet, specs
from tests.replicas.cluster import Replica, State, slash, until
from tests.replicas.kill_actions import report_posts, services_config
from tests.slack.socket_server import SocketModeServer
from tests.support.effect_server import effect_server
from tests.support.local_http import free_port
from tests.support.slack_emulator import SlackEmulator
from tests.support.slack_harness import BOT_TOKEN, SECRET

LEASE_SECONDS = "2"
ONCALL = "S0ONCALL"  # who may diagnose: a user group, so authorizing asks Slack first
pytestmark = pytest.mark.slow


@dataclass
class Cluster:
    replicas: list[Replica]
    state: State
    client: httpx.Client
    hosts: list[str]

    def base(self, index: int) -> str:
        return f"http://127.0.0.1:{self.replicas[index].port}"


@contextmanager
def two_replicas(tmp_path: Path, emulator: SlackEmulator, postgres_url: str, *,
                 socket: SocketModeServer | None = None) -> Iterator[Cluster]:
    """Two replicas of serve on one database and two services of two simulated hosts each;
    HTTP mode, or Socket Mode (each replica its own connection) when `socket` is given."""
    with ExitStack() as stack:
        effects = stack.enter_context(effect_server())
        fleet = stack.enter_context(running_fleet(specs(4), tmp_path / "fleet"))
        hosts = [s.name for s in fleet.specs]
        config = services_config(json.loads(fleet.config_text()), hosts, effects.url, 2)
        config["authorization"]["rerun"] = [ONCALL]
        emulator.usergroups[ONCALL] = ["U0ALICE"]
        config_path = tmp_path / "segbot.yaml"
        config_path.write_text(yaml.safe_dump(config))
        env = {**os.environ, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SECRET,
               "SEGBOT_SLACK_API_URL": emulator.url, "SEGBOT_DATABASE_URL": postgres_url,
               "SEGBOT_LEASE_SECONDS": LEASE_SECONDS, "SEGBOT_CONFIG": str(config_path),
               "XDG_DATA_HOME": str(tmp_path / "data")}
        env.pop("SLACK_APP_TOKEN", None)
        if socket is not None:
            emulator.socket_url = socket.url
            env["SLACK_APP_TOKEN"] = "xapp-emulated-0"
            env.pop("SLACK_SIGNING_SECRET")
        replicas = [Replica(f"replica-{i}", free_port(), env, tmp_path / f"replica-{i}.log")
                    for i in range(2)]
        for replica in replicas:  # one after the other: Socket Mode's connection i is replica i
            replica.start()
            stack.callback(replica.stop)
            replica.wait_ready(threading.Event())
            if socket is not None:
                socket.wait_connections(replicas.index(replica) + 1, 60)
        state = State(postgres_url)
        stack.callback(state.engine.dispose)
        yield Cluster(replicas, state, stack.enter_context(httpx.Client(timeout=20)), hosts)


def command(emulator: SlackEmulator, text: str) -> dict[str, Any]:
    """A slash command's Socket Mode payload."""
    return {"command": "/segfault", "text": text, "user_id": "U0ALICE", "user_name": "alice",
            "channel_id": "C0GENERAL", "channel_name": "general", "team_id": "T0EMU",
            "api_app_id": "A0SEGBOT", "trigger_id": "1.2.3",
            "response_url": f"{emulator.base}/response/U0ALICE"}


def answers(emulator: SlackEmulator, host: str) -> list[str]:
    """What the person was told about a diagnose command for `host`."""
    with emulator.lock:
        said = [str(c.args.get("text", "")) for c in emulator.calls
                if c.method in ("response_url", "chat.postEphemeral")]
    return [text for text in said if f"Diagnosing {host};" in text]


def stored(state: State, text: str) -> list[tuple[str, int | None]]:
    return [(r[0], r[1]) for r in state.rows(
        f"SELECT id, incident_id FROM slash_request WHERE text = '{text}'")]


def finished_once(cluster: Cluster, emulator: SlackEmulator, *, host: str, service: str,
                  request_id: str) -> None:
    """The survivor finished the dead replica's request: answered once, one incident, one
    channel, one timeline line, the host diagnosed, the request's lease done."""
    state, deadline = cluster.state, time.monotonic() + 120
    until("the surviving replica never answered the command",
          lambda: bool(answers(emulator, host)), deadline,
          lambda: [c.args.get("text") for c in emulator.calls if c.method == "response_url"])
    [(incident_id,)] = state.rows(f"SELECT id FROM incident WHERE service = '{service}'")
    until("the host was never diagnosed", lambda: bool(state.rows(
        f"SELECT key FROM work_lease WHERE key = 'diagnosis:{incident_id}:{host}' AND done")),
        deadline)
    until("the report was never posted", lambda: bool(state.rows(
        f"SELECT report_ts FROM slack_place WHERE incident_id = {incident_id} "
        "AND report_ts IS NOT NULL")), deadline)
    time.sleep(3 * float(LEASE_SECONDS))  # room for a second answer, were there one
    said = answers(emulator, host)
    assert len(said) == 1, said
    assert re.match(rf"Incident #{incident_id} opened: <#C", said[0]), said
    assert state.rows(f"SELECT key, token, done FROM work_lease WHERE key = "
                      f"'slash:{request_id}'") == [(f"slash:{request_id}", 2, True)]
    commands = state.rows(f"SELECT text FROM timeline_event WHERE incident_id = {incident_id} "
                          "AND kind = 'command'")
    assert [c[0] for c in commands] == [f"/segfault {host} {service}"]
    [(channel,)] = state.rows(
        f"SELECT channel FROM slack_place WHERE incident_id = {incident_id}")
    assert sum(1 for c in emulator.channels.values() if service in c.name) == 1
    assert "U0ALICE" in emulator.channels[channel].members
    assert report_posts(emulator)[f"report:{incident_id}"] == 1


def killed_at(cluster: Cluster, emulator: SlackEmulator, *, method: str, replica: int,
              host: str, service: str, socket: SocketModeServer | None = None
              ) -> tuple[str, int | None]:
    """Send `/segfault HOST SERVICE` to one replica, hold it at its first call of `method`,
    SIGKILL it there, then let Slack go on; the stored request as it was at the kill."""
    held = emulator.hold(method)
    typed = f"{host} {service}"
    if socket is None:
        slash(cluster.client, cluster.base(replica), emulator, typed, time.monotonic() + 60)
    else:  # on that replica's own connection, acknowledged over it
        socket.ack(socket.send("slash_commands", command(emulator, typed), to=replica), 30)
    # Acknowledged (HTTP 200) means stored: the row is there as the ack arrives.
    assert len(stored(cluster.state, typed)) == 1
    assert held.reached.wait(60), f"the replica never called {method}"
    [request] = stored(cluster.state, typed)
    cluster.replicas[replica].kill()
    held.release()
    return request


def test_a_command_whose_replica_dies_before_recording_it_is_answered_by_another(
        tmp_path: Path, emulator: SlackEmulator, postgres_url: str) -> None:
    with two_replicas(tmp_path, emulator, postgres_url) as cluster:
        host, service = cluster.hosts[0], "svc-00"
        request_id, incident = killed_at(cluster, emulator, method="usergroups.users.list",
                                         replica=0, host=host, service=service)
        assert incident is None and not cluster.state.rows("SELECT id FROM incident")
        finished_once(cluster, emulator, host=host, service=service, request_id=request_id)


def test_a_command_whose_replica_dies_after_recording_it_is_answered_by_another(
        tmp_path: Path, emulator: SlackEmulator, postgres_url: str) -> None:
    with two_replicas(tmp_path, emulator, postgres_url) as cluster:
        host, service = cluster.hosts[2], "svc-01"
        request_id, incident = killed_at(cluster, emulator, method="conversations.create",
                                         replica=1, host=host, service=service)
        assert incident is not None  # recorded: the incident is open, its channel under way
        finished_once(cluster, emulator, host=host, service=service, request_id=request_id)


def test_a_socket_mode_command_whose_replica_dies_after_its_ack_is_answered_by_another(
        tmp_path: Path, emulator: SlackEmulator, postgres_url: str) -> None:
    socket = SocketModeServer()
    try:
        with two_replicas(tmp_path, emulator, postgres_url, socket=socket) as cluster:
            host, service = cluster.hosts[0], "svc-00"
            request_id, incident = killed_at(cluster, emulator, method="conversations.create",
                                             replica=0, host=host, service=service,
                                             socket=socket)
            assert incident is not None
            finished_once(cluster, emulator, host=host, service=service,
                          request_id=request_id)
    finally:
        socket.stop()
