"""deploy/alertmanager: the rules fire with the labels segbot reads (promtool's rule unit tests;
the Loki rule's pattern against real journal lines), and a real Alertmanager running the shipped
receiver config delivers to a real `segbot serve`, bearer token from a file, and an incident
is opened for the right host and service."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.deploy_files import DEPLOY, EXAMPLE_CONFIG, REPO
from tests.support.local_http import free_port
from tests.support.processes import stop

ALERTING = DEPLOY / "alertmanager"
TOKEN = "test-alert-token-3f9c"


def _tool(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip(f"{names[0]} is not installed (.ci/setup.d/40-deploy.sh installs it)")


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, OSError):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"{url} never answered: {log.read_text()}"
            time.sleep(0.2)


def _start(argv: list[str], log: Path, env: dict[str, str] | None = None,
           ) -> subprocess.Popen[bytes]:
    with log.open("w") as sink:
        return subprocess.Popen(argv, stdout=sink, stderr=sink, env=env)


# --- the rules ----------------------------------------------------------------------------

def test_amtool_accepts_the_receiver_config() -> None:
    amtool = _tool("amtool")
    done = subprocess.run([amtool, "check-config", str(ALERTING / "alertmanager.yml")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    config = yaml.safe_load((ALERTING / "alertmanager.yml").read_text())
    [receiver] = [r for r in config["receivers"] if r["name"] == "segbot"]
    [hook] = receiver["webhook_configs"]
    assert hook["url"].endswith("/alerts/alertmanager") and hook["send_resolved"] is True
    auth = hook["http_config"]["authorization"]
    assert auth["type"] == "Bearer" and "credentials_file" in auth and "credentials" not in auth


def test_prometheus_rule_fires_with_segbots_labels(tmp_path: Path) -> None:
    promtool = _tool("promtool")
    rules = ALERTING / "prometheus-rules.yml"
    checked = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True,
                             text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    common = {"instance": "node-17:9100", "job": "node", "name": "checkout-api.service"}
    labels = {**common, "host": "node-17", "service": "checkout-api", "segbot": "crash",
              "severity": "page"}
    selector = ",".join(f'{k}="{v}"' for k, v in sorted(common.items()))
    series = f"node_systemd_service_restart_total{{{selector}}}"
    calm = series.replace("node-17", "node-18")
    test = {
        "rule_files": [str(rules)],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [
                {"series": series, "values": "0 0 1 2 3 4 5 6 7 8 9 10"},
                {"series": calm, "values": "4 4 4 4 4 4 4 4 4 4 4 5"},
            ],
            "alert_rule_test": [
                {"eval_time": "1m", "alertname": "SystemdServiceRestartLoop", "exp_alerts": []},
                {"eval_time": "11m", "alertname": "SystemdServiceRestartLoop", "exp_alerts": [{
                    "exp_labels": labels,
                    "exp_annotations": {
                        "summary": "checkout-api.service on node-17 restarted 10 times in "
                                   "10 minutes",
                        "description": "systemd keeps restarting checkout-api.service on "
                                       "node-17: a crash loop. segbot diagnoses it.",
                    },
                }]},
            ],
        }],
    }
    path = tmp_path / "rules.test.yml"
    path.write_text(yaml.safe_dump(test))
    done = subprocess.run([promtool, "test", "rules", str(path)], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_loki_rule_pattern_reads_real_journal_lines() -> None:
    rules = yaml.safe_load((ALERTING / "loki-rules.yml").read_text())
    [rule] = rules["groups"][0]["rules"]
    expr = rule["expr"]
    assert '|= "code=dumped"' in expr and "sum by (host, service, signal)" in expr
    pattern = re.search(r"regexp `([^`]+)`", expr)
    assert pattern
    regex = re.compile(pattern.group(1))  # RE2's (?P<name>...) is Python's too
    lines = [line for path in (REPO / "tests" / "fixtures" / "journal").glob("*.out")
             for line in path.read_text().splitlines() if "code=dumped" in line]
    assert len(lines) >= 2
    for line in lines:
        match = regex.search(line)
        assert match, line
        assert match.group("service") == "checkout-api" and match.group("signal") == "SEGV"
    assert not regex.search("checkout-api.service: Main process exited, code=exited, "
                            "status=1/FAILURE")
    assert rule["labels"]["segbot"] == "crash"


# --- Alertmanager -> segbot, for real -----------------------------------------------------

@pytest.fixture()
def segbot_server(tmp_path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    port = free_port()
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_CACHE_HOME": str(tmp_path / "cache"), "SEGBOT_ALERT_TOKEN": TOKEN,
           "SEGBOT_CONFIG": str(EXAMPLE_CONFIG)}
    env.pop("SEGBOT_DATABASE_URL", None)
    segbot = Path(sys.executable).parent / "segbot"
    log = tmp_path / "segbot.log"
    proc = _start([str(segbot), "serve", "--host", "127.0.0.1", "--port", str(port)], log, env)
    try:
        _wait_http(f"http://127.0.0.1:{port}/healthz", proc, log)
        yield port, env
    finally:
        stop(proc)


def _incidents(env: dict[str, str]) -> list[dict[str, Any]]:
    segbot = Path(sys.executable).parent / "segbot"
    done = subprocess.run([str(segbot), "incidents", "--json"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    found: list[dict[str, Any]] = json.loads(done.stdout)
    return found


def test_alertmanager_delivers_to_segbot_with_the_token_from_a_file(
        tmp_path: Path, segbot_server: tuple[int, dict[str, str]]) -> None:
    alertmanager = _tool("prometheus-alertmanager", "alertmanager")
    port, env = segbot_server
    token_file = tmp_path / "segbot-alert-token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o400)
    shipped = (ALERTING / "alertmanager.yml").read_text()
    config = shipped.replace("http://segbot.segbot.svc:8080/", f"http://127.0.0.1:{port}/")
    config = config.replace("/etc/alertmanager/secrets/segbot-alert-token", str(token_file))
    assert config != shipped
    (tmp_path / "am.yml").write_text(config)
    am_port = free_port()
    log = tmp_path / "alertmanager.log"
    proc = _start([alertmanager, f"--config.file={tmp_path / 'am.yml'}",
                   f"--storage.path={tmp_path / 'am-data'}",
                   f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address=",
                   "--log.level=debug"], log)
    try:
        _wait_http(f"http://127.0.0.1:{am_port}/-/ready", proc, log)
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        line = "checkout-api.service: Main process exited, code=dumped, status=11/SEGV"
        alerts = [
            {"labels": {"alertname": "ServiceDumpedCore", "segbot": "crash", "severity": "page",
                        "host": "node-17", "service": "checkout-api", "signal": "SEGV"},
             "annotations": {"description": line}, "startsAt": now},
            {"labels": {"alertname": "NotACrash", "host": "node-18", "service": "checkout-api"},
             "startsAt": now},  # no segbot="crash": routed to the default receiver only
        ]
        request = urllib.request.Request(
            f"http://127.0.0.1:{am_port}/api/v2/alerts", data=json.dumps(alerts).encode(),
            headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200
        deadline = time.monotonic() + 30
        while not (incidents := _incidents(env)):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"nothing reached segbot: {log.read_text()}"
            time.sleep(0.5)
    finally:
        stop(proc)
    [incident] = incidents
    assert incident["service"] == "checkout-api" and incident["hosts"] == ["node-17"]


def test_segbot_refuses_a_wrong_or_missing_token(
        segbot_server: tuple[int, dict[str, str]]) -> None:
    port, env = segbot_server
    body = json.dumps({"version": "4", "status": "firing", "alerts": [
        {"labels": {"host": "node-17", "service": "checkout-api"}}]}).encode()
    for header in ({"Authorization": "Bearer wrong"}, {}):
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/alerts/alertmanager", data=body, method="POST",
            headers={"Content-Type": "application/json", **header})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 401
        refused.value.close()
    assert _incidents(env) == []
