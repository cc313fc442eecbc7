"""A Containment use case on a real SQLite store, its executor built from a config dict (as
serve builds it), and what it announced."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.adapters.containment.executor import ConfiguredExecutor
from bot.adapters.store import SqlStore, open_store
from bot.adapters.store.action_store import SqlActionStore
from bot.app.containment import Containment
from bot.app.ports.hosts import CommandRunner
from bot.config import Config
from bot.domain.incident import Status

TOKEN_ENV = {"DEPLOY_TOKEN": "deploy-secret-123", "FLAG_TOKEN": "flag-secret-456"}


def http_actions(url: str, timeout: float = 2.0) -> dict[str, Any]:
    return {
        "rollback": {
            "url": url + "/deploys/{service}/rollback",
            "headers": {"Authorization": "Bearer ${DEPLOY_TOKEN}"},
            "body": {"service": "{service}", "version": "{to_version}",
                     "from": "{version}", "incident": "{incident}"},
            "timeout": timeout,
        },
        "disable_flag": {
            "method": "POST",
            "url": url + "/flags/{flag}/off",
            "headers": {"Authorization": "${FLAG_TOKEN}"},
            "body": {"flag": "{flag}", "reason": "segbot incident {incident}"},
            "timeout": timeout,
            "read": {"url": url + "/flags/{flag}", "value": "enabled"},
        },
        "verify": {"after_minutes": 0.01, "count_on_hosts": False},
    }


def config_with(actions: Mapping[str, Any], hosts: dict[str, Any] | None = None) -> Config:
    return Config.model_validate({
        "hosts": hosts or {"node-17": {"address": "127.0.0.1"}},
        "services": {"checkout-api": {"unit": "checkout-api.service",
                                      "binary": "/opt/checkout/bin/checkout-api",
                                      "hosts": list((hosts or {"node-17": {}}).keys()),
                                      "actions": dict(actions)}},
    })


@dataclass
class Told:
    lines: list[tuple[int, str]] = field(default_factory=list)

    def __call__(self, incident_id: int, text: str) -> None:
        self.lines.append((incident_id, text))


def _no_ssh(host: str) -> CommandRunner:
    raise AssertionError("no SSH in this test")


def containment(database_url: str, config: Config, *,
                environ: Mapping[str, str] = TOKEN_ENV,
                ) -> tuple[Containment, SqlStore, Told, int]:
    store = open_store(database_url)
    now = datetime.now(UTC)
    with store.transaction() as tx:
        incident = tx.create_incident(service="checkout-api", signature="SIGSEGV price_v4",
                                      status=Status.INVESTIGATING, at=now, seen=now)
    told = Told()
    use_case = Containment(actions=SqlActionStore(store.engine), store=store,
                           executor=ConfiguredExecutor(config, environ=environ,
                                                       connect=_no_ssh),
                           announce=told, clock=lambda: datetime.now(UTC))
    return use_case, store, told, incident
