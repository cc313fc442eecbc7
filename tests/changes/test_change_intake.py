"""The change routes over real HTTP: each sender's documented payload is stored as a change
event; re-sends count once; bad credentials, unknown services, hostile or malformed events
get a 4xx and are stored nowhere."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from web.server import TOKEN, Running, running_server

from bot.adapters.store.change_store import SqlChangeStore
from changes.change_payloads import (
    ARGOCD_SYNC,
    BUILD_ID,
    COMMIT,
    CONFIG,
    GENERIC_DEPLOY,
    GENERIC_FLAG,
    GITHUB_DEPLOYMENT_STATUS,
    LAUNCHDARKLY_TURNED_ON,
    UNLEASH_ENABLED,
)

AUTH = {"Authorization": f"Bearer {TOKEN}"}
GITHUB_SECRET = "gh-webhook-secret-for-tests"
LD_SECRET = "ld-webhook-secret-for-tests"


@pytest.fixture
def server(database_url: str) -> Iterator[Running]:
    environ = {"SEGBOT_ALERT_TOKEN": TOKEN, "SEGBOT_GITHUB_WEBHOOK_SECRET": GITHUB_SECRET,
               "SEGBOT_LAUNCHDARKLY_WEBHOOK_SECRET": LD_SECRET}
    alerts = {"max_body_bytes": 65536, "openapi": True}  # the document is off by default
    with running_server(database_url, environ=environ,
                        config={**CONFIG, "alerts": alerts}) as running:
        yield running


@pytest.fixture
def client(server: Running) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def stored(server: Running) -> list[Any]:
    return SqlChangeStore(server.store.engine).changes("checkout-api")


def signed(body: bytes, secret: str, prefix: str) -> str:
    return prefix + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_a_generic_deploy_and_flag_are_stored_once(server: Running,
                                                   client: httpx.Client) -> None:
    first = client.post("/changes/generic", json=GENERIC_DEPLOY, headers=AUTH)
    assert first.status_code == 200, first.text
    assert first.json() == {"stored": 1, "duplicates": 0}
    again = client.post("/changes/generic", json=GENERIC_DEPLOY, headers=AUTH)
    assert again.json() == {"stored": 0, "duplicates": 1}
    flag = client.post("/changes/generic", json=GENERIC_FLAG, headers=AUTH)
    assert flag.json() == {"stored": 1, "duplicates": 0}
    # without an id, the same content is the same event
    assert client.post("/changes/generic", json=GENERIC_FLAG, headers=AUTH).json() == {
        "stored": 0, "duplicates": 1}
    deploy, toggled = stored(server)
    assert (deploy.kind, deploy.version, deploy.commit, deploy.build_ids, deploy.by) == (
        "deploy", "2.18.7", COMMIT, (BUILD_ID,), "deploy-bot")
    assert deploy.time == datetime(2026, 1, 22, 2, 58, 44, tzinfo=UTC)
    assert deploy.hosts == ("node-17", "node-18") and deploy.key == "generic:deploy-4242"
    assert (toggled.kind, toggled.flag, toggled.state) == ("flag", "pricing_v4", "on")
    # a token in a CI link is not kept
    leaky = {**GENERIC_DEPLOY, "id": "deploy-4243",
             "url": "https://ci:hunter2@ci.example.org/runs/1?token=s3cr3t-abcdef123456"}
    assert client.post("/changes/generic", json=leaky, headers=AUTH).json()["stored"] == 1
    kept = next(e.url for e in stored(server) if e.key == "generic:deploy-4243")
    assert kept is not None and "ci.example.org/runs/1" in kept
    assert "hunter2" not in kept and "s3cr3t" not in kept


def test_github_deployment_status_signed_by_github(server: Running,
                                                   client: httpx.Client) -> None:
    body = json.dumps(GITHUB_DEPLOYMENT_STATUS).encode()
    headers = {"X-GitHub-Event": "deployment_status", "Content-Type": "application/json"}
    bad = client.post("/changes/github", content=body, headers={
        **headers, "X-Hub-Signature-256": signed(body, "wrong", "sha256=")})
    assert bad.status_code == 401
    good = client.post("/changes/github", content=body, headers={
        **headers, "X-Hub-Signature-256": signed(body, GITHUB_SECRET, "sha256=")})
    assert good.json() == {"stored": 1, "duplicates": 0}, good.text
    (deploy,) = stored(server)
    assert (deploy.source, deploy.version, deploy.commit, deploy.build_ids, deploy.by) == (
        "github", "2.18.7", COMMIT, (BUILD_ID,), "deploy-bot")
    assert deploy.url == "https://github.com/shop/checkout-api/actions/runs/42"
    # a deployment still pending, or another environment's, records nothing
    pending = copy.deepcopy(GITHUB_DEPLOYMENT_STATUS)
    pending["deployment_status"].update(state="pending", id=1234568)
    answer = client.post("/changes/github", json=pending, headers={**headers, **AUTH})
    assert answer.json()["stored"] == 0 and "pending" in answer.json()["ignored"]
    staging = client.post("/changes/github?environment=staging",
                          json=GITHUB_DEPLOYMENT_STATUS, headers={**headers, **AUTH})
    assert staging.json()["stored"] == 0
    ping = client.post("/changes/github", json={"zen": "hi"},
                       headers={"X-GitHub-Event": "ping", **AUTH})
    assert ping.status_code == 200 and ping.json()["stored"] == 0
    assert len(stored(server)) == 1


def test_argocd_unleash_and_launchdarkly(server: Running, client: httpx.Client) -> None:
    argo = client.post("/changes/argocd", json=ARGOCD_SYNC, headers=AUTH)
    assert argo.json() == {"stored": 1, "duplicates": 0}, argo.text
    running = copy.deepcopy(ARGOCD_SYNC)
    running["app"]["status"]["operationState"]["phase"] = "Running"
    assert client.post("/changes/argocd", json=running, headers=AUTH).json()["stored"] == 0
    unleash = client.post("/changes/unleash?environment=production", json=UNLEASH_ENABLED,
                          headers=AUTH)
    assert unleash.json() == {"stored": 1, "duplicates": 0}, unleash.text
    body = json.dumps(LAUNCHDARKLY_TURNED_ON).encode()
    ld = client.post("/changes/launchdarkly", content=body, headers={
        "X-LD-Signature": signed(body, LD_SECRET, ""), "Content-Type": "application/json"})
    assert ld.json() == {"stored": 1, "duplicates": 0}, ld.text
    deploy, *flags = stored(server)
    assert (deploy.source, deploy.version, deploy.commit, deploy.build_ids) == (
        "argocd", "2.18.7", COMMIT, (BUILD_ID,))
    assert sorted((f.source, f.flag, f.state, f.by) for f in flags) == [
        ("launchdarkly", "pricing_v4", "on", "alice@example.org"),
        ("unleash", "pricing_v4", "on", "alice@example.org")]


HOSTILE: list[tuple[str, dict[str, Any]]] = [
    ("unknown service", {**GENERIC_DEPLOY, "service": "payments"}),
    ("shell in the version", {**GENERIC_DEPLOY, "version": "2.18.7; rm -rf /"}),
    ("option as a commit", {**GENERIC_DEPLOY, "commit": "--output=/etc/passwd"}),
    ("not a build-id", {**GENERIC_DEPLOY, "build_ids": ["../../etc/shadow"]}),
    ("short sha256", {**GENERIC_DEPLOY, "sha256": "abc"}),
    ("no timezone", {**GENERIC_DEPLOY, "time": "2026-01-22T02:58:44"}),
    ("not a time", {**GENERIC_DEPLOY, "time": "yesterday"}),
    ("no time", {k: v for k, v in GENERIC_DEPLOY.items() if k != "time"}),
    ("unknown kind", {**GENERIC_DEPLOY, "kind": "reboot"}),
    ("javascript url", {**GENERIC_DEPLOY, "url": "javascript:alert(1)"}),
    ("control characters", {**GENERIC_DEPLOY, "by": "bot\n<!channel>"}),
    ("a host with a slash", {**GENERIC_DEPLOY, "hosts": ["node-17/../x"]}),
    ("a flag change without a flag", {**GENERIC_FLAG, "flag": None}),
    ("a deploy of nothing", {"service": "checkout-api", "kind": "deploy",
                             "time": "2026-01-22T02:58:44Z"}),
    ("a list", [GENERIC_DEPLOY]),  # type: ignore[list-item]
    ("too long", {**GENERIC_DEPLOY, "version": "1" * 65}),
]


def test_hostile_or_malformed_events_are_refused_and_stored_nowhere(
        server: Running, client: httpx.Client) -> None:
    for name, payload in HOSTILE:
        answer = client.post("/changes/generic", json=payload, headers=AUTH)
        assert answer.status_code == 422, (name, answer.text)
    assert stored(server) == []


def test_unleash_flag_of_no_configured_service_is_refused(server: Running,
                                                          client: httpx.Client) -> None:
    orphan = {**UNLEASH_ENABLED, "featureName": "search_v2", "tags": []}
    answer = client.post("/changes/unleash", json=orphan, headers=AUTH)
    assert answer.status_code == 422 and "unknown service" in answer.text
    # the flag is the config's (services.checkout-api.changes.flags): no tag needed
    owned = {**UNLEASH_ENABLED, "id": 4712, "tags": []}
    assert client.post("/changes/unleash", json=owned, headers=AUTH).json()["stored"] == 1
    named = {**orphan, "id": 4713}
    assert client.post("/changes/unleash?service=payments", json=named,
                       headers=AUTH).status_code == 422
    assert client.post("/changes/unleash?service=checkout-api;id", json=named,
                       headers=AUTH).status_code == 422
    assert [e.flag for e in stored(server)] == ["pricing_v4"]


def test_credentials_size_and_syntax(server: Running, client: httpx.Client) -> None:
    for route in ("generic", "github", "argocd", "unleash", "launchdarkly"):
        assert client.post(f"/changes/{route}", json=GENERIC_DEPLOY).status_code == 401
        assert client.post(f"/changes/{route}", json=GENERIC_DEPLOY, headers={
            "Authorization": "Bearer wrong"}).status_code == 401
    huge = {**GENERIC_DEPLOY, "padding": "x" * 70000}
    assert client.post("/changes/generic", json=huge, headers=AUTH).status_code == 413
    broken = client.post("/changes/generic", content=b'{"service": "checkout-api",',
                         headers={**AUTH, "Content-Type": "application/json"})
    assert broken.status_code == 422
    deep = client.post("/changes/generic", content=b"[" * 5000 + b"]" * 5000,
                       headers={**AUTH, "Content-Type": "application/json"})
    assert deep.status_code == 422
    assert stored(server) == []


def test_the_generic_route_is_in_the_openapi_document(client: httpx.Client) -> None:
    document = client.get("/openapi.json").json()
    body = document["paths"]["/changes/generic"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert {"service", "kind", "time"} <= set(schema["required"])
    assert {"/changes/github", "/changes/argocd", "/changes/unleash",
            "/changes/launchdarkly"} <= set(document["paths"])


def test_no_token_configured_refuses_every_change(database_url: str) -> None:
    with running_server(database_url, environ={}, config=CONFIG) as server, \
            httpx.Client(base_url=server.url, timeout=30) as client:
        answer = client.post("/changes/generic", json=GENERIC_DEPLOY,
                             headers={"Authorization": "Bearer anything"})
        assert answer.status_code == 403
        assert stored(server) == []


def test_a_bad_changes_section_is_a_config_error() -> None:
    from bot.adapters.web.changes_routes import change_settings
    from bot.config import config_from
    from bot.errors import ConfigError

    bad = {"services": {"checkout-api": {"changes": {"repo": "relative/path"}}}}
    with pytest.raises(ConfigError, match=r"services\.checkout-api\.changes"):
        config_from(bad)
    good = change_settings(config_from(CONFIG), {"SEGBOT_GITHUB_WEBHOOK_SECRET": "x"})
    assert good.directory.flag_owners == {"pricing_v4": "checkout-api"}
    assert good.github_secret == "x" and good.launchdarkly_secret is None
