"""The pieces the Slack scenario tests share: a real segbot server (alerts + /slack/events)
wired to the Slack emulator, requests signed like Slack signs them, and a local command runner
for the playbook when there is no lab.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import uvicorn

from bot.adapters.slack.runtime import SlackRuntime
from bot.adapters.store import open_store
from bot.app.diagnosis_feed import DiagnosisSetup
from bot.app.ports.containment import ContainmentActions
from bot.app.ports.hosts import CommandResult, Fetched
from bot.config import config_from
from bot.wiring.serve import slack_runtime, web_app
from tests.support.local_http import free_port
from tests.support.slack_emulator import SlackEmulator, running_emulator

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-emulated-0000"
ALERT_TOKEN = "test-alert-token"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# What a careless service logs; none of it may ever reach Slack.
SECRETS = ("Hunter2Secret", "xoxp-1234567890-abcdefghij")
SECRET_LINE = (f"connecting to postgres://checkout:{SECRETS[0]}@db-1/orders "
               f"slack_token={SECRETS[1]}")


def signed_headers(body: str, *, secret: str = SECRET, timestamp: int | None = None,
                   signature: str | None = None) -> dict[str, str]:
    """Slack's v0 request signature over `v0:timestamp:body`."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256)
    return {"Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature or "v0=" + digest.hexdigest()}


@dataclass
class Running:
    url: str
    emulator: SlackEmulator
    runtime: SlackRuntime
    store: Any
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))

    def slash(self, text: str, *, user: str = "U0ALICE", channel: str = "C0GENERAL",
              **signing: Any) -> httpx.Response:
        body = urlencode({
            "token": "unused", "team_id": "T0EMU", "team_domain": "emulated",
            "channel_id": channel, "channel_name": "general", "user_id": user,
            "user_name": user.lower(), "command": "/segfault", "text": text,
            "api_app_id": "A0SEGBOT", "response_url": f"{self.emulator.base}/response/{user}",
            "trigger_id": "1337.42.abcd"})
        return self.http.post(f"{self.url}/slack/events", content=body,
                              headers=signed_headers(body, **signing))

    def click(self, button: dict[str, Any], *, user: str, channel: str,
              message_ts: str) -> httpx.Response:
        payload = click_payload(button, user=user, channel=channel, ts=message_ts,
                                response_base=self.emulator.base)
        body = urlencode({"payload": json.dumps(payload)})
        return self.http.post(f"{self.url}/slack/events", content=body,
                              headers=signed_headers(body))

    def interact(self, payload: dict[str, Any]) -> httpx.Response:
        """An interactive payload (shortcut, modal submission, button) signed as Slack does."""
        payload = {"team": {"id": "T0EMU", "domain": "emulated"}, "api_app_id": "A0SEGBOT",
                   "token": "unused", "trigger_id": "1337.44.abcd", **payload}
        body = urlencode({"payload": json.dumps(payload)})
        return self.http.post(f"{self.url}/slack/events", content=body,
                              headers=signed_headers(body))

    def event(self, event: dict[str, Any], event_id: str = "Ev0001") -> httpx.Response:
        body = json.dumps({"token": "unused", "team_id": "T0EMU", "api_app_id": "A0SEGBOT",
                           "type": "event_callback", "event_id": event_id,
                           "event_time": int(time.time()), "event": event})
        return self.http.post(f"{self.url}/slack/events", content=body, headers={
            **signed_headers(body), "Content-Type": "application/json"})

    def report(self) -> tuple[str, str, dict[str, Any]]:
        """(channel, ts, message) of the one report message the emulator holds."""
        posted = [(k, m) for k, m in self.emulator.messages.items()]
        assert len(posted) == 1, posted
        (channel, ts), message = posted[0]
        return channel, ts, message


def buttons(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The report's buttons by action name."""
    found: dict[str, dict[str, Any]] = {}
    for block in message.get("blocks") or ():
        for element in block.get("elements") or ():
            if element.get("type") == "button":
                found[element["action_id"].rsplit(":", 1)[-1]] = element
    return found


def click_payload(button: dict[str, Any], *, user: str, channel: str, ts: str,
                  response_base: str) -> dict[str, Any]:
    """The block_actions payload Slack sends when `user` clicks `button` of message `ts`."""
    return {
        "type": "block_actions", "team": {"id": "T0EMU", "domain": "emulated"},
        "user": {"id": user, "username": user.lower(), "team_id": "T0EMU"},
        "api_app_id": "A0SEGBOT", "token": "unused", "trigger_id": "1337.43.abcd",
        "container": {"type": "message", "message_ts": ts, "channel_id": channel,
                      "is_ephemeral": False},
        "channel": {"id": channel, "name": "incident"},
        "message": {"type": "message", "ts": ts, "text": "report"},
        "response_url": f"{response_base}/response/{user}",
        "actions": [{"type": "button", "action_id": button["action_id"], "block_id": "b",
                     "value": button["value"], "text": button["text"],
                     "action_ts": str(time.time())}],
    }


def message_text(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks") or [])


@contextmanager
def running_bot(tmp_path: Path, config: Mapping[str, Any], *,
                diagnosis: DiagnosisSetup | None = None,
                usergroups: Mapping[str, list[str]] | None = None,
                socket_url: str | None = None,
                emulator: SlackEmulator | None = None,
                actions: ContainmentActions | None = None) -> Iterator[Running]:
    """segbot serving alerts and Slack; with `socket_url`, Slack in Socket Mode (no signing
    secret, no /slack/events). The store lives in `tmp_path`: a second bot there is the first
    one restarted (pass the same `emulator` to keep Slack's side too)."""
    with ExitStack() as stack:
        if emulator is None:
            emulator = stack.enter_context(running_emulator())
        emulator.usergroups.update({k: list(v) for k, v in (usergroups or {}).items()})
        store = open_store(f"sqlite:///{tmp_path / 'segbot.db'}")
        environ = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SECRET,
                   "SEGBOT_SLACK_API_URL": emulator.url, "SEGBOT_ALERT_TOKEN": ALERT_TOKEN}
        if socket_url is not None:
            emulator.socket_url = socket_url
            environ["SLACK_APP_TOKEN"] = "xapp-emulated-0000"
            del environ["SLACK_SIGNING_SECRET"]
        checked = config_from(config)
        runtime = slack_runtime(store=store, config=checked, environ=environ,
                                diagnosis=diagnosis, actions=actions)
        assert runtime is not None
        app = web_app(store=store, config=checked, environ=environ, trigger=runtime.trigger)
        runtime.mount(app)
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning", access_log=False))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
        running = Running(f"http://127.0.0.1:{port}", emulator, runtime, store)
        try:
            yield running
        finally:
            running.http.close()
            server.should_exit = True
            thread.join(20)
            store.engine.dispose()


# -- a host without the lab: the playbook's commands run for real, with recorded tools ------

_TOOLS = {
    "dmesg": 'cat "$FIX/kernel/seed_dmesg_T.out"',
    "journalctl": ('case " $* " in *" -k "*) exit 0;; esac; cat "$FIX/journal/seed_task1.out"; '
                   f'echo "Jan 22 03:11:06 node-17 checkout-api[24891]: {SECRET_LINE}"'),
    "systemctl": 'cat "$FIX/systemctl_show/seed.out"',
    "coredumpctl": (
        'case " $* " in\n'
        '  *" dump "*) echo "PID: 24891 (checkout-api)" >&2; head -c 65536 /dev/urandom;;\n'
        '  *" info "*) cat "$FIX/coredumpctl_info/systemd252.out";;\n'
        '  *) cat "$FIX/coredumpctl_list/seed.out";;\nesac'),
    # gdb is the slow step on a real host: the report must not wait for it
    "gdb": ('sleep "${SLOW_GDB:-3}"; case " $* " in *mappings*) '
            'cat "$FIX/gdb_mappings/with_perms.out";; *) cat "$FIX/gdb/seed_no_symbols.out";; '
            'esac'),
}


def fake_tools(directory: Path, binary: Path) -> Path:
    """Scripts that print recorded outputs of a real crash, naming `binary` as the crashed
    executable (the recordings say /opt/checkout/bin/checkout-api)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, script in _TOOLS.items():
        path = directory / name
        path.write_text(f"#!/bin/bash\nFIX={FIXTURES}\n{{\n{script}\n}} | "
                        f"sed 's#/opt/checkout/bin/checkout-api#{binary}#g'\n")
        path.chmod(0o755)
    return directory


class LocalRunner:
    """A CommandRunner that really runs each command with bash on this machine, with the
    recorded crash tools first on PATH; records when each command finished."""

    def __init__(self, tools: Path) -> None:
        self.env = {**os.environ, "PATH": f"{tools}:/usr/sbin:/usr/bin:/sbin:/bin"}
        self.finished: dict[str, float] = {}
        self.commands: list[str] = []

    def run(self, command: str, *, timeout: float) -> CommandResult:
        started = time.monotonic()
        self.commands.append(command)
        try:
            done = subprocess.run(["bash", "-c", command], capture_output=True, text=True,
                                  env=self.env, timeout=timeout, errors="replace")
        except subprocess.TimeoutExpired:
            return CommandResult("", "", None, time.monotonic() - started, timed_out=True)
        self.finished[command] = time.monotonic()
        return CommandResult(done.stdout, done.stderr, done.returncode,
                             time.monotonic() - started)

    def fetch(self, remote: str, local: Path, *, max_bytes: int, timeout: float) -> Fetched:
        shutil.copyfile(remote, local)
        data = local.read_bytes()
        return Fetched(local, len(data), hashlib.sha256(data).hexdigest())

    def close(self) -> None:
        pass


@contextmanager
def local_diagnosis(tmp_path: Path) -> Iterator[tuple[DiagnosisSetup, LocalRunner, Path]]:
    """A diagnosis that really runs the playbook's commands here, with recorded crash tools
    (see fake_tools); yields (setup, runner, the service's binary). The playbook extracts
    cores to /var/tmp, as on a real host: the ones it left are removed afterwards."""
    import glob

    from bot.app.diagnose import Inventory
    from bot.config import load_playbook_file

    binary = tmp_path / "opt" / "checkout-api"
    binary.parent.mkdir()
    shutil.copyfile("/bin/true", binary)
    binary.chmod(0o755)
    runner = LocalRunner(fake_tools(tmp_path / "tools", binary))
    setup = DiagnosisSetup(
        connect=lambda host: runner,
        inventory=lambda host, service: Inventory(
            host=host, service=service, unit="checkout-api.service", binary=str(binary),
            user="segbot", sudo=False),
        playbook=load_playbook_file(), evidence_dir=tmp_path / "evidence")
    before = set(glob.glob("/var/tmp/segbot-cores/checkout-api-*.core"))
    try:
        yield setup, runner, binary
    finally:
        for left in set(glob.glob("/var/tmp/segbot-cores/checkout-api-*.core")) - before:
            os.unlink(left)
