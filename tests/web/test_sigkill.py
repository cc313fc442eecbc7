"""Kill `segbot serve` with SIGKILL in the middle of an alert storm and restart it: every
acknowledged alert is stored, counts are exact, and there is one incident.

10,000 alerts for one crash signature from 20 hosts, posted by concurrent senders the way
Alertmanager posts them (several alerts per webhook, re-sent when not acknowledged)."""

from __future__ import annotations

import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from bot.adapters.store import open_store
from bot.domain.alerts import dedup_key, parse_time
from tests.support.alert_payloads import am_alert, am_webhook
from tests.support.serve_process import segbot_serve
from tests.support.web_server import TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}
ALERTS, HOSTS, PER_WEBHOOK, SENDERS = 10_000, 20, 5, 8
REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _webhooks() -> list[list[dict[str, Any]]]:
    alerts = [am_alert(host=f"node-{n % HOSTS:02d}", n=n) for n in range(ALERTS)]
    return [alerts[i : i + PER_WEBHOOK] for i in range(0, ALERTS, PER_WEBHOOK)]


def _storm(url: str, webhooks: list[list[dict[str, Any]]],
           kill_after: int | None = None, process: subprocess.Popen[bytes] | None = None,
           ) -> tuple[list[dict[str, Any]], int]:
    """Post every webhook from SENDERS threads; return the acknowledged alerts and the count
    of alerts the server said were new."""
    acked: list[dict[str, Any]] = []
    accepted = 0
    lock = threading.Lock()
    work = iter(list(enumerate(webhooks)))

    def sender() -> None:
        nonlocal accepted
        with httpx.Client(base_url=url, timeout=30, headers=AUTH) as client:
            while True:
                with lock:
                    item = next(work, None)
                if item is None:
                    return
                try:
                    answer = client.post("/alerts/alertmanager", json=am_webhook(item[1]))
                except httpx.TransportError:
                    continue  # not acknowledged: Alertmanager will send it again
                assert answer.status_code == 200, answer.text
                with lock:
                    acked.extend(item[1])
                    accepted += answer.json()["accepted"]
                    killing = kill_after is not None and len(acked) >= kill_after
                    if killing and process is not None and process.poll() is None:
                        process.send_signal(signal.SIGKILL)

    threads = [threading.Thread(target=sender) for _ in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return acked, accepted


def _key(alert: dict[str, Any]) -> str:
    starts = parse_time(alert["startsAt"])
    assert starts is not None
    return dedup_key("alertmanager", alert["fingerprint"], starts.isoformat())


def test_sigkill_mid_storm_loses_no_acknowledged_alert(
    database_url: str, tmp_path: Path
) -> None:
    env = {"SEGBOT_ALERT_TOKEN": TOKEN, "SEGBOT_DATABASE_URL": database_url,
           "XDG_DATA_HOME": str(tmp_path / "data")}
    log = tmp_path / "serve.log"
    webhooks = _webhooks()
    with segbot_serve(env, log) as (url, process):
        acked, accepted = _storm(url, webhooks, kill_after=ALERTS // 4, process=process)
        process.wait(10)
        assert process.returncode == -signal.SIGKILL
    assert ALERTS // 4 <= len(acked) < ALERTS, "the kill did not land mid-storm"

    store = open_store(database_url)
    with store.engine.connect() as connection:
        stored = set(connection.execute(text("SELECT alert_key FROM occurrence")).scalars())
    assert {_key(a) for a in acked} <= stored, "an acknowledged alert was lost"
    assert accepted == len(acked)  # nothing was acknowledged twice as new

    with segbot_serve(env, log) as (url, _):  # Alertmanager re-sends the whole storm
        _, accepted_after = _storm(url, webhooks)
    # exactly the alerts not stored before the kill were new (some were stored but their
    # answer was lost with the process: re-sent, they count as duplicates, not twice)
    assert accepted_after == ALERTS - len(stored)

    (incident,) = store.list_incidents()
    assert incident.occurrences == ALERTS
    assert len(incident.hosts) == HOSTS
    assert incident.signature is not None
    detail = store.incident_detail(incident.id)
    assert detail is not None
    assert sum(c.occurrences for c in detail.by_host_version) == ALERTS
    assert len(detail.diagnoses) == HOSTS
    assert {d.state for d in detail.diagnoses} == {"requested"}  # resumed after the kill
    store.engine.dispose()
