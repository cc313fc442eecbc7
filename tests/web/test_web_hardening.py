"""The HTTP server tells outsiders little, over real HTTP: /healthz says "down" without the
database's error text (host, port, user, database), the OpenAPI document and /docs exist only
when configured, and a Grafana signature must carry a fresh timestamp (no replay)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.support.alert_payloads import grafana_webhook
from tests.support.databases import fresh_database, postgres_admin_url
from tests.support.web_server import running_server


def test_healthz_does_not_show_the_database_error(tmp_path: Path) -> None:
    for url in fresh_database("postgresql", tmp_path):
        name = make_url(url).database
        admin = create_engine(postgres_admin_url() or "", isolation_level="AUTOCOMMIT")
        try:
            with running_server(url) as running, httpx.Client(timeout=30) as client:
                assert client.get(f"{running.url}/healthz").status_code == 200
                with admin.connect() as connection:  # the database goes away under segbot
                    connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
                    connection.execute(text("SELECT pg_terminate_backend(pid) FROM "
                                            f"pg_stat_activity WHERE datname = '{name}'"))
                answer = client.get(f"{running.url}/healthz")
                assert answer.status_code == 503
                assert answer.json()["status"] == "down" and answer.json()["store"] == "down"
                parsed = make_url(url)
                for secret in (str(name), str(parsed.host), str(parsed.port),
                               str(parsed.username), "FATAL", "connection"):
                    assert secret not in answer.text, answer.text
        finally:
            admin.dispose()


def test_openapi_and_docs_only_when_configured(database_url: str) -> None:
    with running_server(database_url) as running, httpx.Client(timeout=30) as client:
        for path in ("/openapi.json", "/docs", "/redoc"):
            assert client.get(f"{running.url}{path}").status_code == 404, path
    with running_server(database_url, config={"alerts": {"openapi": True}}) as running, \
            httpx.Client(timeout=30) as client:
        assert "/alerts/generic" in client.get(f"{running.url}/openapi.json").json()["paths"]
        assert client.get(f"{running.url}/docs").status_code == 200


@pytest.mark.parametrize("stamp", ["1764132000", "", "soon",
                                   str(int(time.time()) + 3600)])
def test_a_grafana_signature_without_a_fresh_timestamp_is_refused(
        database_url: str, stamp: str) -> None:
    environ = {"SEGBOT_GRAFANA_HMAC_SECRET": "s3cret"}
    with (running_server(database_url, environ=environ) as running,
          httpx.Client(timeout=30) as client):
        body = json.dumps(grafana_webhook()).encode()
        signed = (f"{stamp}:".encode() if stamp else b"") + body
        headers = {"Content-Type": "application/json",
                   "X-Grafana-Alerting-Signature":
                       hmac.new(b"s3cret", signed, hashlib.sha256).hexdigest()}
        if stamp:
            headers["X-Grafana-Alerting-Signature-Timestamp"] = stamp
        replayed = client.post(f"{running.url}/alerts/grafana", content=body, headers=headers)
        assert replayed.status_code == 401, replayed.text
        assert running.store.list_incidents() == []
