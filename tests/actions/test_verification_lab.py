"""The restart delay's verification on a real host counts the crashes that happened after it,
as the host's own coredumpctl times them, through the production sudoers (deploy/host/); a
count that sudo refuses is "not verified", never crash-free. Needs root and the lab."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from actions_setup import Told
from deploy_helpers import sudoers_module
from lab.host import LabHost
from test_actions_lab import _prepare

from bot.adapters.containment.executor import ConfiguredExecutor
from bot.adapters.ssh import SshRunner
from bot.adapters.store import open_store
from bot.adapters.store.action_store import SqlActionStore
from bot.adapters.store.schedule_store import SqlScheduleStore
from bot.app.containment import Containment, verify_action
from bot.app.ports.containment import ActionRequest
from bot.config import Config, load_playbook_file
from bot.domain.incident import Status
from bot.domain.verification import verification_verdict

pytestmark = pytest.mark.lab
BINARY = "/opt/checkout/bin/checkout-api"


def _config(host: LabHost) -> dict[str, Any]:
    return {"hosts": {host.name: host.ssh_config_entry()},
            "services": {"checkout-api": {
                "unit": "checkout-api.service", "binary": BINARY, "hosts": [host.name],
                "actions": {"restart_delay": {"seconds": 2},
                            "verify": {"after_minutes": 1, "count_on_hosts": True}}}}}


def _cores_since(host: LabHost, since: datetime) -> int:
    """The truth on the host: cores whose crash time (microseconds) is after `since`."""
    listed = host.run(["coredumpctl", "--no-pager", "--json=short", "list", BINARY]).stdout
    after = since.timestamp() * 1_000_000
    return len([row for row in json.loads(listed or "[]") if row["time"] > after])


def test_restart_delay_verification_counts_the_hosts_cores(lab_host_factory: Any,
                                                            tmp_path: Path) -> None:
    host: LabHost = lab_host_factory("verify-lab")
    raw = _config(host)
    _prepare(host, raw)
    config = Config.model_validate(raw)
    before = host.wait_for_crash_loop_end()

    def connect(name: str) -> SshRunner:
        runner = SshRunner(config.target(name))
        runner.connect()
        return runner

    store = open_store(f"sqlite:///{tmp_path / 'segbot.db'}")
    now = datetime.now(UTC)
    with store.transaction() as tx:
        incident = tx.create_incident(service="checkout-api", signature="SIGSEGV price_v4",
                                      status=Status.INVESTIGATING, at=now, seen=now)
    executor = ConfiguredExecutor(config, environ={}, connect=connect)
    actions, told = SqlActionStore(store.engine), Told()
    containment = Containment(actions=actions, store=store, executor=executor, announce=told,
                              clock=lambda: datetime.now(UTC))
    try:
        result = containment.execute(ActionRequest(
            proposal_id="verify-lab-1", incident_id=incident, action="restart_delay",
            target={"service": "checkout-api", "host": host.name}, requested_by="U0BOB"))
        assert result.ok, result.text
        shown = list(result.unit_states.items())  # the unit re-read after the action
        # Only what changed: the delay and the start limit's interval, not the burst (5 -> 5).
        assert "RestartUSec 200ms -> 2s" in result.text, result.text
        assert "StartLimitBurst" not in result.text, result.text
        assert [h for h, _ in shown] == [host.name] and "RestartUSec=2s" in shown[0][1]

        host.wait_for_crash_loop_end(timeout=120)  # slower now, still crashing until the limit
        record = actions.get("verify-lab-1")
        assert record is not None and record.finished_at is not None
        expected = _cores_since(host, record.finished_at)
        assert host.wait_for_crashes(before + expected) == before + expected
        text = verify_action(action_id="verify-lab-1", now=datetime.now(UTC), actions=actions,
                             store=store, announce=told, host_crashes=executor.host_crashes)
        print(f"\nlab verification: {text!r}; coredumpctl on the host: {expected} since")
        assert expected > 0
        assert text == f"still crashing: {expected} since the restart delay"
        # ... and those crashes are the incident's, with their own times: the postmortem's
        # "crashes after the action" and the summaries count them.
        detail = store.incident_detail(incident)
        assert detail is not None and detail.incident.occurrences == expected
        times = [t for _, t in SqlScheduleStore(store.engine).crash_times(incident)]
        assert len(times) == expected
        assert min(times) >= record.finished_at

        # The same count with the verification rule taken out of sudoers: not verified.
        narrowed = sudoers_module().sudoers(config, load_playbook_file(None, config),
                                            host=host.name)
        narrowed = narrowed.replace(", SEGBOT_VERIFY", "")
        host.run(["sh", "-c", "cat > /etc/sudoers.d/segbot.new && chmod 0440 /etc/sudoers.d/"
                  "segbot.new && mv /etc/sudoers.d/segbot.new /etc/sudoers.d/segbot"],
                 input=narrowed, check=True)
        counts = executor.host_crashes("checkout-api", record.finished_at)
        assert counts is not None and [c.count for c in counts] == [None]
        verdict = verification_verdict(action="restart_delay", stored=0, hosts=counts,
                                       seconds=60)
        assert verdict.startswith("not verified since the restart delay"), verdict
        assert "sudo" in verdict, verdict
    finally:
        store.engine.dispose()
