"""A local flag service over real HTTP speaking the parts of Unleash's admin API and
LaunchDarkly's REST API v2 that segbot reads; it checks the token and records requests."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.local_http import JsonHandler, serving

TOKEN = "flag-service-token-for-tests"


@dataclass
class FlagServer:
    url: str = ""
    routes: dict[str, Any] = field(default_factory=dict)  # path -> JSON answer (or status)
    requests: list[tuple[str, dict[str, list[str]], str | None]] = field(default_factory=list)
    delay: float = 0.0


def unleash_routes(now: datetime, *, by: str = "alice@example.org") -> dict[str, Any]:
    def at(minutes: float) -> str:
        return datetime.fromtimestamp(now.timestamp() - minutes * 60).astimezone().isoformat()

    return {
        "/api/admin/projects/default/features/pricing_v4": {
            "name": "pricing_v4", "project": "default", "environments": [
                {"name": "development", "enabled": False},
                {"name": "production", "enabled": True}]},
        "/api/admin/events/pricing_v4": {"version": 1, "toggleName": "pricing_v4", "events": [
            {"id": 12, "type": "feature-environment-enabled", "createdBy": by,
             "createdAt": at(7), "featureName": "pricing_v4", "environment": "production"},
            {"id": 11, "type": "feature-environment-enabled", "createdBy": "dev@example.org",
             "createdAt": at(9), "featureName": "pricing_v4", "environment": "development"},
            {"id": 10, "type": "feature-strategy-update", "createdBy": "bob@example.org",
             "createdAt": at(60), "featureName": "pricing_v4", "environment": "production"},
            {"id": 9, "type": "feature-tagged", "createdBy": "bob@example.org",
             "createdAt": at(61), "featureName": "pricing_v4"},
            {"id": 3, "type": "feature-created", "createdBy": "carol@example.org",
             "createdAt": at(60 * 24 * 40), "featureName": "pricing_v4"}]},
    }


def launchdarkly_routes(now: datetime) -> dict[str, Any]:
    return {
        "/api/v2/flags/default/pricing_v4": {"key": "pricing_v4", "environments": {
            "production": {"on": True, "version": 12}, "test": {"on": False}}},
        "/api/v2/auditlog": {"items": [
            {"_id": "61e1c0a0b1b2c3d4e5f60718", "kind": "flag",
             "date": int(now.timestamp() * 1000) - 7 * 60_000,
             "titleVerb": "turned on the flag", "member": {"email": "alice@example.org"},
             "accesses": [{"action": "updateOn",
                           "resource": "proj/default:env/production:flag/pricing_v4"}]},
            {"_id": "61e1c0a0b1b2c3d4e5f60719", "kind": "segment", "date": 1}]},
    }


@contextmanager
def flag_server() -> Iterator[FlagServer]:
    state = FlagServer()

    class Handler(JsonHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            token = self.headers.get("Authorization")
            state.requests.append((parts.path, parse_qs(parts.query), token))
            if state.delay:
                time.sleep(state.delay)
            answer = state.routes.get(parts.path, 404)
            status = 401 if token != TOKEN else answer if isinstance(answer, int) else 200
            self.send_json(status, answer if status == 200 else {"error": status})

    with serving(Handler) as url:
        state.url = url
        yield state
