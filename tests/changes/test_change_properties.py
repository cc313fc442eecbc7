"""Property tests: whatever a sender posts, reading it ends in events or a refusal with a
reason (pydantic's ValidationError, ChangeRefused), never another exception."""

from __future__ import annotations

import contextlib
import copy
import json
from dataclasses import replace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from bot.adapters.web.change_models import (
    ArgoNotification,
    GenericChange,
    GithubDeploymentStatus,
    LaunchDarklyEntry,
    UnleashEvent,
)
from bot.domain.changes import ChangeRefused, checked_event
from tests.changes.change_payloads import (
    ARGOCD_SYNC,
    GENERIC_DEPLOY,
    GITHUB_DEPLOYMENT_STATUS,
    LAUNCHDARKLY_TURNED_ON,
    UNLEASH_ENABLED,
)

SAMPLES: list[tuple[type[BaseModel], dict[str, Any]]] = [
    (GenericChange, GENERIC_DEPLOY), (GithubDeploymentStatus, GITHUB_DEPLOYMENT_STATUS),
    (ArgoNotification, ARGOCD_SYNC), (UnleashEvent, UNLEASH_ENABLED),
    (LaunchDarklyEntry, LAUNCHDARKLY_TURNED_ON)]
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                    st.text(max_size=40), st.sampled_from([
                        "2.18.7", "success", "Succeeded", "updateOn", "flag", "v1.2",
                        "2026-01-22T02:58:44Z", "proj/x:env/production:flag/y", "a" * 64]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    return found


def _events(model: type[BaseModel], body: bytes) -> None:
    try:
        payload = model.model_validate_json(body)
    except ValidationError:
        return
    events = payload.events(None) if model in (GithubDeploymentStatus, UnleashEvent,
                                               LaunchDarklyEntry) else payload.events()
    for event in events:
        with contextlib.suppress(ChangeRefused):
            checked_event(replace(event, service=event.service or "checkout-api"))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(which=st.integers(0, len(SAMPLES) - 1), where=st.integers(0, 10_000), value=values)
def test_any_field_replaced_by_anything(which: int, where: int, value: Any) -> None:
    model, sample = SAMPLES[which]
    data = copy.deepcopy(sample)
    paths = _paths(data)
    path = paths[where % len(paths)]
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    _events(model, json.dumps(data).encode())


@settings(max_examples=200, deadline=None)
@given(which=st.integers(0, len(SAMPLES) - 1), body=st.binary(max_size=200))
def test_any_bytes(which: int, body: bytes) -> None:
    _events(SAMPLES[which][0], body)


def test_odd_shapes_that_once_looked_safe() -> None:
    odd = copy.deepcopy(LAUNCHDARKLY_TURNED_ON)
    odd["currentVersion"] = {"environments": {"production": "on"}}
    _events(LaunchDarklyEntry, json.dumps(odd).encode())
    _events(LaunchDarklyEntry, json.dumps({**LAUNCHDARKLY_TURNED_ON, "date": 10**20}).encode())
