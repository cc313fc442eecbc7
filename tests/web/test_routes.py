"""The alert routes over real HTTP: authentication, Alertmanager/Grafana/generic payloads,
idempotence, limits, /healthz, /metrics, the OpenAPI document."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator

import httpx
import pytest

from bot.adapters.web.models import IntakeResponse
from tests.support.alert_payloads import am_alert, am_webhook, grafana_webhook
from tests.support.web_server import TOKEN, Running, running_server

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def server(database_url: str) -> Iterator[Running]:
    with running_server(database_url, config={"alerts": {"openapi": True}}) as running:
        yield running


@pytest.fixture
def client(server: Running) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def test_alertmanager_storm_is_one_incident_counted_once(
    server: Running, client: httpx.Client
) -> None:
    alerts = [am_alert(host=f"node-{n % 4}", n=n) for n in range(40)]
    first = client.post("/alerts/alertmanager", json=am_webhook(alerts[:25]), headers=AUTH)
    assert first.status_code == 200, first.text
    assert first.json()["accepted"] == 25
    # Alertmanager re-sends the whole group on every group_interval: counted once
    again = client.post("/alerts/alertmanager", json=am_webhook(alerts), headers=AUTH)
    assert again.json()["accepted"] == 15 and again.json()["duplicates"] == 25
    (incident,) = server.store.list_incidents()
    assert incident.service == "checkout-api" and incident.occurrences == 40
    # the kernel line in the description annotation was decoded on the way in
    assert incident.signature is not None and "checkout-api" in incident.signature
    assert incident.hosts == ("node-0", "node-1", "node-2", "node-3")
    assert sorted(r.host for r in server.diagnoses.requests) == list(incident.hosts)


def test_resolved_notification_counts_nothing_and_closes_nothing(
    server: Running, client: httpx.Client
) -> None:
    client.post("/alerts/alertmanager", json=am_webhook([am_alert()]), headers=AUTH)
    resolved = am_webhook([am_alert(status="resolved")], status="resolved")
    answer = client.post("/alerts/alertmanager", json=resolved, headers=AUTH)
    assert answer.json()["duplicates"] == 1
    (incident,) = server.store.list_incidents()
    assert incident.status == "investigating" and incident.occurrences == 1


def test_service_label_falls_back_and_unusable_alerts_are_reported(
    server: Running, client: httpx.Client
) -> None:
    unusable = am_alert(n=2)
    del unusable["labels"]["instance"]
    body = am_webhook([am_alert(n=1, service_label="service"), unusable])
    answer = client.post("/alerts/alertmanager", json=body, headers=AUTH)
    assert answer.status_code == 200
    assert answer.json()["accepted"] == 1
    assert answer.json()["rejected"] == [
        {"index": 1, "reason": "no host label (looked for host, hostname, node, instance)"}
    ]
    # The answer is written without the model: it must still be exactly the documented shape.
    assert set(answer.json()) == set(IntakeResponse.model_fields)
    assert IntakeResponse.model_validate(answer.json()).model_dump() == answer.json()
    only_bad = client.post("/alerts/alertmanager", json=am_webhook([unusable]), headers=AUTH)
    assert only_bad.status_code == 422 and "no host label" in only_bad.text


def test_grafana_and_generic(server: Running, client: httpx.Client) -> None:
    answer = client.post("/alerts/grafana", json=grafana_webhook(), headers=AUTH)
    assert answer.status_code == 200 and answer.json()["accepted"] == 1
    generic = {"host": "node-9", "service": "payments", "signal": "SIGSEGV", "id": "evt-1",
               "time": "2026-11-26T04:41:00Z", "message": "payments[9]: segfault at 8"}
    assert client.post("/alerts/generic", json=generic, headers=AUTH).json()["accepted"] == 1
    assert client.post("/alerts/generic", json=generic, headers=AUTH).json()["duplicates"] == 1
    (incident,) = server.store.list_incidents()
    assert incident.service == "payments" and incident.hosts == ("node-5", "node-9")
    assert incident.occurrences == 2


def test_token_required(client: httpx.Client) -> None:
    body = am_webhook([am_alert()])
    assert client.post("/alerts/alertmanager", json=body).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert client.post("/alerts/alertmanager", json=body, headers=wrong).status_code == 401
    assert client.post("/alerts/generic", json={}, headers=wrong).status_code in (401, 422)


def test_no_token_configured_refuses_everything(database_url: str) -> None:
    with (running_server(database_url, environ={}) as running,
          httpx.Client(timeout=30) as client):
        answer = client.post(f"{running.url}/alerts/alertmanager",
                             json=am_webhook([am_alert()]), headers=AUTH)
        assert answer.status_code == 403
        assert running.store.list_incidents() == []


def test_grafana_hmac_signature(database_url: str) -> None:
    environ = {"SEGBOT_GRAFANA_HMAC_SECRET": "s3cret"}
    with (running_server(database_url, environ=environ) as running,
          httpx.Client(timeout=30) as client):
        body = json.dumps(grafana_webhook()).encode()
        stamp = str(int(time.time()))
        signature = hmac.new(b"s3cret", f"{stamp}:".encode() + body,
                             hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json",
                   "X-Grafana-Alerting-Signature": signature,
                   "X-Grafana-Alerting-Signature-Timestamp": stamp}
        ok = client.post(f"{running.url}/alerts/grafana", content=body, headers=headers)
        assert ok.status_code == 200, ok.text
        headers["X-Grafana-Alerting-Signature"] = "0" * 64
        bad = client.post(f"{running.url}/alerts/grafana", content=body, headers=headers)
        assert bad.status_code == 401


def test_bad_payloads_get_4xx_with_a_reason(client: httpx.Client) -> None:
    cases = [
        b"{", b"[]", b'{"alerts": "x"}', b'{"alerts": [{"labels": {"a": 1}}]}',
        b"[" * 50_000, b'{"alerts": [{"startsAt": "soon", "labels": {"host": "h", "job": "j"}}]}',
        "\"\udc80\"".encode("utf-8", "surrogatepass"), b"\xff\xfe",
    ]
    for body in cases:
        answer = client.post("/alerts/alertmanager", content=body,
                             headers={**AUTH, "Content-Type": "application/json"})
        assert 400 <= answer.status_code < 500, (body[:40], answer.status_code, answer.text)
        assert answer.json()["detail"]


def test_oversized_payloads_get_413(client: httpx.Client) -> None:
    big = am_webhook([am_alert(n=n) for n in range(3000)])
    answer = client.post("/alerts/alertmanager", json=big, headers=AUTH)
    assert answer.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer
        yield b'{"alerts": ['
        for _ in range(2000):
            yield json.dumps(am_alert()).encode() + b","
        yield b"{}]}"

    chunked = client.post("/alerts/alertmanager", content=chunks(),
                          headers={**AUTH, "Content-Type": "application/json"})
    assert chunked.status_code == 413


def test_health_metrics_openapi(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "store": "ok",
                                             "slack": "not configured"}
    client.post("/alerts/alertmanager", json=am_webhook([am_alert()]), headers=AUTH)
    metrics = client.get("/metrics").text
    assert 'segbot_alerts_total{outcome="accepted",source="alertmanager"} 1.0' in metrics
    assert "segbot_incidents_opened_total 1.0" in metrics
    assert "segbot_alert_ack_seconds_bucket" in metrics
    for family in ("segbot_diagnose_step_seconds", "segbot_ssh_failures_total",
                   "segbot_slack_api_calls_total", "segbot_slack_api_retries_total",
                   "segbot_actions_total", "segbot_diagnoses_requested_total"):
        assert f"# TYPE {family.removesuffix('_total')}" in metrics, family
    document = client.get("/openapi.json").json()
    paths = document["paths"]
    assert {"/alerts/alertmanager", "/alerts/grafana", "/alerts/generic"} <= set(paths)
    assert paths["/alerts/generic"]["post"]["security"] == [{"alertToken": []}]
    assert document["components"]["securitySchemes"]["alertToken"]["scheme"] == "bearer"
    assert "/bench/noop" not in paths
    schemas = document["components"]["schemas"]
    for path, model in (("/alerts/alertmanager", "AlertmanagerWebhook"),
                        ("/alerts/grafana", "GrafanaWebhook"), ("/alerts/generic", "GenericAlert")):
        body = paths[path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": f"#/components/schemas/{model}"}
        assert "properties" in schemas[model]
    assert "labels" in schemas["AlertmanagerAlert"]["properties"]  # nested models are there too
