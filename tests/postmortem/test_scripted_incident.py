"""The postmortem of a scripted lab incident, compared with the expected document: a 200 ms
crash loop on node-17, diagnosis (the seed bundle decoded), a restart delay and a rollback run
through the containment use case (rollback over HTTP to a local deploy service; the restart
delay on a recorded host standing in for the lab's systemd), their verifications, a note and a
pinned message from people, and the resolution. Every time comes from a scripted clock.

Regenerate the expected document after an intended change with
`SEGBOT_REGENERATE=1 .venv/bin/pytest tests/postmortem/test_scripted_incident.py`."""

from __future__ import annotations

import json
import os
import shlex
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "actions"))

from effect_server import effect_server

from bot.adapters.containment.executor import ConfiguredExecutor
from bot.adapters.store import SqlStore, open_store
from bot.adapters.store.action_store import SqlActionStore
from bot.adapters.store.schedule_store import SqlScheduleStore
from bot.app.containment import Containment
from bot.app.incidents import change_status, ingest, learn_signature, record_event, record_report
from bot.app.ports.containment import ActionRequest
from bot.app.ports.hosts import CommandResult, Fetched
from bot.app.proposals import label
from bot.app.reminders import restart_delay_in_place
from bot.config import Config
from bot.domain.alerts import Occurrence
from bot.domain.decode import decode_text
from bot.domain.incident import Status, TimelineEvent
from bot.domain.postmortem import draft_postmortem
from bot.domain.postmortem_render import to_dict, to_markdown
from bot.domain.report_json import report_to_dict

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = Path(__file__).resolve().parent / "expected" / "scripted-incident.md"
T0 = datetime(2026, 1, 22, 3, 9, 55, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def at(self, minutes: float) -> datetime:
        self.now = T0 + timedelta(minutes=minutes)
        return self.now


class RecordedHost:
    """node-17's systemd as the restart-delay helper changes it (the lab does this for real in
    tests/actions/test_actions_lab.py)."""

    def __init__(self) -> None:
        self.restart = "200ms"
        self.core = "0"
        self.commands: list[str] = []

    def run(self, command: str, *, timeout: float) -> CommandResult:
        self.commands.append(command)
        if command.startswith("systemctl show"):
            return CommandResult(f"RestartUSec={self.restart}\nNRestarts=37\n"
                                 f"LimitCORE={self.core}\n"
                                 "ActiveState=activating\nSubState=auto-restart\n", "", 0, 0.01)
        for step in command.split(" && "):
            words = shlex.split(step)
            if "restart-delay" in step and "set" in words:
                seconds = words[words.index("set") + 2]
                self.restart = f"{seconds}s"
                if words[-1] == "core":  # `restart-delay set UNIT N core`
                    self.core = "infinity"
        return CommandResult("", "", 0, 0.01)

    def fetch(self, remote: str, local: Path, *, max_bytes: int, timeout: float) -> Fetched:
        raise AssertionError("nothing is fetched here")

    def close(self) -> None:
        pass


def _crashes(store: SqlStore, clock: Clock, times: list[datetime], host: str, version: str,
             start: int) -> None:
    ingest(store=store, requests=[[
        Occurrence(source="alertmanager", key=f"crash-{start + n}", host=host,
                   service="checkout-api", status="firing", time=t, signal="SIGSEGV",
                   version=version) for n, t in enumerate(times)]],
        now=clock.now, window=timedelta(minutes=15))


def _script(store: SqlStore, deploy_url: str) -> int:
    clock = Clock()
    host = RecordedHost()
    config = Config.model_validate({
        "hosts": {"node-17": {"address": "127.0.0.1"}, "node-18": {"address": "127.0.0.2"}},
        "services": {"checkout-api": {
            "unit": "checkout-api.service", "binary": "/opt/checkout/bin/checkout-api",
            "hosts": ["node-17", "node-18"],
            "actions": {"restart_delay": {"seconds": 30},
                        "rollback": {"url": deploy_url + "/deploys/{service}/rollback",
                                     "body": {"service": "{service}",
                                              "version": "{to_version}"}},
                        "verify": {"after_minutes": 5, "count_on_hosts": False}}}}})
    told: list[str] = []
    containment = Containment(
        actions=SqlActionStore(store.engine), store=store,
        executor=ConfiguredExecutor(config, environ={}, connect=lambda name: host),
        announce=lambda incident, text: told.append(text), clock=clock)

    # 03:09:55 the crash loop: node-17 every 200 ms (RestartSec=200ms), node-18 twice.
    clock.at(0.25)
    loop = [T0 + timedelta(milliseconds=200 * n) for n in range(40)]
    _crashes(store, clock, loop, "node-17", "2.18.7", 0)
    _crashes(store, clock, [T0 + timedelta(seconds=5), T0 + timedelta(seconds=9)], "node-18",
             "2.18.7", 100)
    incident = store.list_incidents()[0].id
    # 03:12 diagnosis of node-17 (the seed bundle is what its playbook collected)
    clock.at(2.1)
    report = report_to_dict(decode_text((ROOT / "examples/seed-bundle.txt").read_text()))
    record_report(store=store, incident_id=incident, host="node-17",
                  report_json=json.dumps(report), now=clock.now)
    learn_signature(store=store, incident_id=incident, signature=report["signature"],
                    now=clock.now)
    # 03:14 restart delay on node-17, clicked by alice
    clock.at(4.1)
    _act(store, containment, incident, "restart_delay", {"service": "checkout-api",
                                                         "host": "node-17"}, "U0ALICE")
    # the loop slows to one crash every 30 s until the rollback
    clock.at(7.05)
    _crashes(store, clock, [T0 + timedelta(minutes=4.5 + 0.5 * n) for n in range(5)],
             "node-17", "2.18.7", 200)
    record_event(store=store, incident_id=incident, event=TimelineEvent(
        T0 + timedelta(minutes=5, seconds=5), "note", "pricing_v4 went on at 03:07; "
        "rolling back 2.18.7", actor="U0BOB", source="slack:pin"))
    # 03:17 rollback to 2.18.6, clicked by bob
    clock.at(7.1)
    _act(store, containment, incident, "rollback", {"service": "checkout-api",
                                                    "version": "2.18.7",
                                                    "to_version": "2.18.6"}, "U0BOB")
    # verifications when due: the restart delay's (still crashing), the rollback's (clean)
    for minute in (9.2, 12.2):
        clock.at(minute)
        containment.verify_due()
    clock.at(20.1)
    with store.transaction() as tx:
        tx.add_event(incident, TimelineEvent(clock.now, "note", "crash-free for 13 minutes, "
                                             "error rate at baseline", actor="U0ALICE",
                                             source="slack"))
    change_status(store=store, incident_id=incident, status=Status.RESOLVED, actor="U0ALICE",
                  now=clock.now)
    assert any("30" in c and "restart-delay set" in c for c in host.commands)
    return incident


def _act(store: SqlStore, containment: Containment, incident: int, action: str,
         target: dict[str, str], user: str) -> None:
    """What a confirmed button click does (bot/app/clicks.py): the action, then its line."""
    result = containment.execute(ActionRequest(
        proposal_id=f"p-{action}", incident_id=incident, action=action, target=target,
        requested_by=user))
    assert result.ok, result.text
    record_event(store=store, incident_id=incident, event=TimelineEvent(
        containment.clock(), "action", f"{label(action, target)} by "
        f"<@{user}>: done: {result.text}", actor=user, source="slack"))


def test_scripted_incident_postmortem(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'segbot.db'}")
    try:
        with effect_server() as deploy:
            incident = _script(store, deploy.url)
            assert [path for path, _ in deploy.effects] == ["/deploys/checkout-api/rollback"]
        detail = store.incident_detail(incident)
        assert detail is not None
        draft = draft_postmortem(detail, SqlScheduleStore(store.engine).crash_times(incident))
        text = to_markdown(draft).replace(deploy.url, "http://deploy.test")
        if os.environ.get("SEGBOT_REGENERATE") == "1":
            EXPECTED.write_text(text)
        assert text == EXPECTED.read_text()
        data = to_dict(draft)
        assert [e["crashes_before"] for e in data["effects"]] == [42, 47]
        assert [e["crashes_after"] for e in data["effects"]] == [5, 0]
        factors = {f["key"] for f in data["contributing_factors"]}
        assert {"restart_storm", "retries_without_jitter"} <= factors
        assert "core_limit_zero" not in factors  # a shell's ulimit -c; the cores exist
        # resolved with the drop-in still on node-17: the reminder will say so
        dropin = restart_delay_in_place(detail.timeline)
        assert dropin is not None and dropin.text.startswith("Slow the restart loop by")
    finally:
        store.engine.dispose()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
