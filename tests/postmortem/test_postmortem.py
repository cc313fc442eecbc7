"""The postmortem draft of an incident held in a real SQLite store, through the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.adapters.store import open_store
from bot.app.incidents import ingest, record_event
from bot.domain.alerts import Occurrence
from bot.domain.decode import decode_text
from bot.domain.incident import TimelineEvent
from bot.domain.report_json import report_to_dict

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 1, 22, 3, 9, 55, tzinfo=UTC)


def _seed_incident(url: str, version: str | None = "2.18.7") -> int:
    store = open_store(url)
    report = report_to_dict(decode_text((ROOT / "examples/seed-bundle.txt").read_text()))
    occurrences = [
        Occurrence(source="generic", key=f"alert-{i}", host=host, service="checkout-api",
                   status="firing", time=T0 + timedelta(seconds=72 * i), signal="SIGSEGV",
                   signature=report["signature"], version=version)
        for i, host in enumerate(["node-17", "node-18", "node-17"])
    ]
    outcome = ingest(store=store, requests=[occurrences], now=T0, window=timedelta(minutes=10))
    incident_id = outcome.results[0].incidents[0]
    with store.transaction() as tx:
        tx.add_report(incident_id, "node-17", json.dumps(report), T0 + timedelta(minutes=2))
    for minute, kind, text, actor in [
        (3, "diagnosis", "diagnosis of node-17 finished: null dereference", "segbot"),
        (5, "action", "restart delay set to 30s on node-17 (was 200ms)", "U-alice"),
        (9, "action_result", "crash-free for 4 minutes since the restart delay", "segbot"),
    ]:
        record_event(store=store, incident_id=incident_id, event=TimelineEvent(
            time=T0 + timedelta(minutes=minute), kind=kind, text=text, actor=actor))
    return incident_id


def _segbot(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SEGBOT_DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True,
                          env=env, timeout=60, check=False, cwd=ROOT)


def test_markdown_draft_tells_the_incident(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'segbot.db'}"
    incident_id = _seed_incident(url)
    out = tmp_path / "pm.md"
    result = _segbot(url, "postmortem", str(incident_id), "-o", str(out))
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert text.startswith("# Postmortem draft: checkout-api: SIGSEGV")
    assert "| Occurrences | 3 |" in text
    assert "node-17, node-18" in text and "2.18.7" in text
    assert "`SIGSEGV checkout-api+0x184d2`" in text and "**null deref**" in text
    timeline = [line for line in text.splitlines() if line.startswith("- **")]
    assert timeline[0] == ("- **03:09** checkout-api crashed on node-17 (signature SIGSEGV "
                           "checkout-api+0x184d2) _(generic)_")
    times = [line[4:9] for line in timeline]
    assert times == sorted(times) and times[-3:] == ["03:12", "03:14", "03:18"]
    assert "restart delay set to 30s on node-17 (was 200ms) — U-alice" in text
    for factor in ("restart loop: RestartSec=200ms, 37 restarts",
                   "/var is 98% full", "flag pricing_v4 changed before the first crash"):
        assert factor in text
    # The paste's `ulimit -c` is 0, but coredumpctl lists the crash's core as present.
    assert "core size limit is 0" not in text
    assert "- [ ] Harden restart behavior" in text
    assert "- [ ] Make cores non-negotiable" not in text
    assert "- [ ] Always ship build IDs and symbols" in text


def test_json_draft_and_unknown_incident(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'segbot.db'}"
    incident_id = _seed_incident(url)
    result = _segbot(url, "postmortem", str(incident_id), "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["impact"]["occurrences"] == 3
    assert {f["key"] for f in data["contributing_factors"]} >= {
        "restart_storm", "disk_nearly_full", "feature_flag", "deploy", "null-deref",
        "no_symbols"}
    assert "core_limit_zero" not in {f["key"] for f in data["contributing_factors"]}
    assert [a["kind"] for a in data["actions"]] == ["action", "action_result"]
    missing = _segbot(url, "postmortem", "999")
    assert missing.returncode == 1 and "no incident 999" in missing.stderr


def test_alerts_without_a_version_take_the_one_the_diagnosis_found(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'segbot.db'}"
    incident_id = _seed_incident(url, version=None)
    result = _segbot(url, "postmortem", str(incident_id), "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["impact"]["versions"] == ["2.18.7"]
