"""No payload makes the server answer 5xx: schemathesis against our OpenAPI document, and
hypothesis-made JSON (well-formed or not, schema-shaped or not) against the alert routes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.alert_payloads import am_alert, am_webhook
from tests.support.databases import fresh_database
from tests.support.web_server import TOKEN, Running, running_server

AUTH = {"Authorization": f"Bearer {TOKEN}"}
ROUTES = ["/alerts/alertmanager", "/alerts/grafana", "/alerts/generic"]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    tmp = tmp_path_factory.mktemp("fuzz")
    for url in fresh_database("sqlite", Path(tmp)):
        with running_server(url, config={"alerts": {"openapi": True}}) as running:
            yield running


def test_schema_driven_payloads_never_5xx(live: Running) -> None:
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    tested = []
    statuses: set[int] = set()
    for result in schema.get_all_operations():
        operation = result.ok()
        if not operation.path.startswith("/alerts/"):
            continue
        tested.append(operation.path)

        @given(case=operation.as_strategy())
        @settings(max_examples=60, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def no_5xx(case: Any) -> None:
            response = case.call(base_url=live.url, headers=AUTH, timeout=30)
            statuses.add(response.status_code)
            assert response.status_code < 500, (case.path, case.body, response.text[:300])

        no_5xx()
    assert sorted(tested) == sorted(ROUTES)
    assert 200 in statuses and 422 in statuses  # both stored alerts and refused ones


_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30)
)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                  max_size=4),
    max_leaves=20,
)
_alertish = st.fixed_dictionaries(
    {"alerts": st.lists(st.fixed_dictionaries(
        {"labels": st.dictionaries(st.sampled_from(["host", "instance", "unit", "job", "x"]),
                                   st.text(max_size=20), max_size=4),
         "startsAt": st.one_of(st.text(max_size=35), st.just("2026-11-26T04:40:00Z")),
         "fingerprint": st.text(max_size=20),
         "status": st.sampled_from(["firing", "resolved", "?"])},
        optional={"annotations": st.dictionaries(st.text(max_size=10), st.text(max_size=80))},
    ), max_size=5)},
    optional={"status": st.text(max_size=10), "version": st.text(max_size=3)},
)
_generic = st.fixed_dictionaries(
    {"host": st.text(max_size=20), "service": st.text(max_size=20)},
    optional={"id": st.text(max_size=10), "time": st.text(max_size=30),
              "message": st.text(max_size=120), "signal": st.text(max_size=8)},
)


@given(route=st.sampled_from(ROUTES), body=st.one_of(_json, _alertish, _generic),
       mangle=st.sampled_from(["json", "truncated", "latin1"]))
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
def test_arbitrary_json_never_5xx(live: Running, route: str, body: Any, mangle: str) -> None:
    data = json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")
    if mangle == "truncated":
        data = data[: len(data) // 2]
    elif mangle == "latin1":
        data = json.dumps(body, ensure_ascii=False).encode("latin-1", "replace")
    with httpx.Client(timeout=30) as client:
        answer = client.post(f"{live.url}{route}", content=data,
                             headers={**AUTH, "Content-Type": "application/json"})
    assert answer.status_code < 500, (route, data[:200], answer.text[:300])


def test_the_fuzzed_server_still_takes_alerts(live: Running) -> None:
    with httpx.Client(timeout=30) as client:
        answer = client.post(f"{live.url}/alerts/alertmanager",
                             json=am_webhook([am_alert(n=987654)]), headers=AUTH)
    assert answer.status_code == 200 and answer.json()["accepted"] == 1
