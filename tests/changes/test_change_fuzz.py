"""No body makes a change route answer 5xx: hypothesis-made JSON, sample-shaped or not, over
real HTTP, with the bearer token and with signatures that do not match."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.changes.change_payloads import (
    ARGOCD_SYNC,
    CONFIG,
    GENERIC_DEPLOY,
    GITHUB_DEPLOYMENT_STATUS,
    LAUNCHDARKLY_TURNED_ON,
    UNLEASH_ENABLED,
)
from tests.support.databases import fresh_database
from tests.support.web_server import TOKEN, Running, running_server

ROUTES = {"generic": GENERIC_DEPLOY, "github": GITHUB_DEPLOYMENT_STATUS, "argocd": ARGOCD_SYNC,
          "unleash": UNLEASH_ENABLED, "launchdarkly": LAUNCHDARKLY_TURNED_ON}
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                    st.text(max_size=30))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=10), inner, max_size=3)),
    max_leaves=10)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    tmp = tmp_path_factory.mktemp("change-fuzz")
    environ = {"SEGBOT_ALERT_TOKEN": TOKEN, "SEGBOT_GITHUB_WEBHOOK_SECRET": "s",
               "SEGBOT_LAUNCHDARKLY_WEBHOOK_SECRET": "s"}
    for url in fresh_database("sqlite", Path(tmp)):
        with running_server(url, environ=environ, config=CONFIG) as running:
            yield running


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(route=st.sampled_from(sorted(ROUTES)), extra=st.dictionaries(
    st.sampled_from(["service", "kind", "time", "version", "build_ids", "deployment",
                     "deployment_status", "app", "type", "createdAt", "date", "accesses",
                     "currentVersion", "featureName", "tags", "repository", "x"]), values,
    max_size=3), raw=st.booleans(), signed=st.booleans())
def test_change_routes_never_5xx(live: Running, route: str, extra: dict[str, Any], raw: bool,
                                 signed: bool) -> None:
    body = json.dumps(extra if raw else {**ROUTES[route], **extra}).encode()
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "deployment_status",
               "Authorization": f"Bearer {TOKEN}"}
    if signed:
        headers |= {"X-Hub-Signature-256": "sha256=00", "X-LD-Signature": "00"}
    answer = httpx.post(f"{live.url}/changes/{route}", content=body, headers=headers,
                        timeout=30)
    assert answer.status_code < 500, (route, body[:300], answer.text[:300])
