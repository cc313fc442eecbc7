"""`segbot incidents [--json]` and `segbot incident ID [--json]` read what the store holds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.adapters.store import open_store
from bot.app.incidents import ingest
from bot.domain.alerts import Occurrence

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)


def segbot(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SEGBOT_DATABASE_URL": database_url}
    return subprocess.run([sys.executable, "-m", "bot", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False)


def test_incidents_and_incident(database_url: str) -> None:
    store = open_store(database_url)
    occurrences = [
        Occurrence(source="alertmanager", key=f"k{n}", host=f"node-{n % 3}",
                   service="checkout-api", status="firing", time=T0 + timedelta(seconds=n),
                   signature="SIGSEGV checkout-api+0xc4d2", version="1.4.2" if n % 2 else "1.4.3")
        for n in range(9)
    ]
    ingest(store=store, requests=[occurrences], now=T0, window=timedelta(minutes=15))
    store.engine.dispose()

    listed = segbot(database_url, "incidents", "--json")
    assert listed.returncode == 0, listed.stderr
    (incident,) = json.loads(listed.stdout)
    assert incident["service"] == "checkout-api" and incident["status"] == "investigating"
    assert incident["signature"] == "SIGSEGV checkout-api+0xc4d2"
    assert incident["occurrences"] == 9 and incident["hosts"] == ["node-0", "node-1", "node-2"]

    shown = segbot(database_url, "incident", str(incident["id"]), "--json")
    assert shown.returncode == 0, shown.stderr
    detail = json.loads(shown.stdout)
    by_host = {(r["host"], r["version"]): r["occurrences"] for r in detail["occurrences_by_host"]}
    assert sum(by_host.values()) == 9 and by_host[("node-0", "1.4.3")] == 2
    assert [e["kind"] for e in detail["timeline"]][:2] == ["opened", "diagnosis"]
    assert len(detail["diagnoses"]) == 3

    text = segbot(database_url, "incident", str(incident["id"]))
    assert "checkout-api" in text.stdout and "timeline:" in text.stdout
    table = segbot(database_url, "incidents")
    assert "9 occurrence(s) on 3 host(s)" in table.stdout

    missing = segbot(database_url, "incident", "999")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "segbot: no incident 999"
