"""Builds and runs the HTTP server: settings from the environment and config file, the store,
the intake, uvicorn."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from bot.adapters.store import SqlStore
from bot.adapters.web.app import WebSettings, create_app
from bot.adapters.web.changes_routes import mount_changes
from bot.adapters.web.intake import Intake
from bot.adapters.web.metrics import intake_metrics
from bot.app.incidents import DEFAULT_WINDOW
from bot.app.ports import DiagnosisTrigger
from bot.domain.alerts import LabelRules
from bot.domain.incident import DiagnosisRequest
from bot.errors import ConfigError, SegbotError

log = logging.getLogger("segbot.serve")


class LoggingTrigger:
    """Until diagnose is wired into serve: record that a diagnosis was asked for."""

    def __call__(self, request: DiagnosisRequest) -> None:
        log.info(
            "diagnosis requested: incident %s host %s service %s",
            request.incident_id,
            request.host,
            request.service,
        )


def alert_settings(config: Mapping[str, Any]) -> tuple[timedelta, LabelRules, int]:
    """The `alerts:` section of the config file: grouping window, label names, body limit."""
    section = config.get("alerts") or {}
    if not isinstance(section, Mapping):
        raise ConfigError("config: `alerts` must be a mapping")
    try:
        window = timedelta(
            seconds=float(section.get("group_window_seconds", DEFAULT_WINDOW.total_seconds()))
        )
        defaults = LabelRules()
        rules = LabelRules(
            host=tuple(section.get("host_labels", defaults.host)),
            service=tuple(section.get("service_labels", defaults.service)),
            message=tuple(section.get("message_annotations", defaults.message)),
        )
        limit = int(section.get("max_body_bytes", 1 << 20))
    except (TypeError, ValueError) as error:
        raise ConfigError(f"config: bad value under `alerts`: {error}") from None
    return window, rules, limit


def web_options(config: Mapping[str, Any]) -> dict[str, Any]:
    """The `alerts:` keys about the server itself: the OpenAPI document and /docs (off unless
    `openapi: true`), and how old a Grafana signature's timestamp may be."""
    section = config.get("alerts") or {}
    if not isinstance(section, Mapping):
        raise ConfigError("config: `alerts` must be a mapping")
    openapi = section.get("openapi", False)
    if not isinstance(openapi, bool):
        raise ConfigError("config: alerts.openapi must be true or false")
    try:
        max_age = float(section.get("hmac_max_age_seconds", 300))
    except (TypeError, ValueError) as error:
        raise ConfigError(f"config: bad alerts.hmac_max_age_seconds: {error}") from None
    if not 0 < max_age <= 3600:
        raise ConfigError("config: alerts.hmac_max_age_seconds must be in (0, 3600]")
    return {"openapi": openapi, "hmac_max_age_seconds": max_age}


def load_config(path: Path | None) -> Mapping[str, Any]:
    if path is None:
        return {}
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"cannot read config {path}: {error}") from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"config {path}: top level must be a mapping")
    return data


def build_app(
    *,
    store: SqlStore,
    config: Mapping[str, Any],
    environ: Mapping[str, str] = os.environ,
    trigger: DiagnosisTrigger | None = None,
    slack_check: Callable[[], str] | None = None,
) -> FastAPI:
    window, rules, limit = alert_settings(config)
    metrics = intake_metrics()
    intake = Intake(
        store=store,
        database_url=store.engine.url.render_as_string(hide_password=False),
        trigger=trigger or LoggingTrigger(),
        metrics=metrics,
        window_seconds=window.total_seconds(),
    )
    settings = WebSettings(
        alert_token=environ.get("SEGBOT_ALERT_TOKEN") or None,
        grafana_hmac_secret=environ.get("SEGBOT_GRAFANA_HMAC_SECRET") or None,
        max_body_bytes=limit,
        label_rules=rules,
        bench_baseline=environ.get("SEGBOT_BENCH_BASELINE") == "1",
        **web_options(config),
        services=frozenset(config.get("services") or {}),
    )
    def health() -> dict[str, str]:
        try:
            store.list_incidents(limit=1)
            state = "ok"
        except SegbotError as error:
            # The reason (host, user, driver text) goes to the log, never to the probe.
            log.warning("health check: the store is down: %s", error)
            state = "down"
        return {"store": state, "slack": slack_check() if slack_check else "not configured"}

    app = create_app(intake=intake, metrics=metrics, settings=settings, health=health)
    mount_changes(app, engine=store.engine, config=config, max_body_bytes=limit, environ=environ)
    return app


class SlackCheck:
    """Whether Slack answers `auth.test`, asked at most once a minute (health probes are
    frequent; Slack's rate limits are not generous)."""

    def __init__(self, client: Any, *, every: float = 60.0) -> None:
        self.client, self.every = client, every
        self._state, self._at = "unknown", float("-inf")
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            if time.monotonic() - self._at >= self.every:
                try:
                    self.client.auth_test()
                    self._state = "ok"
                except Exception as error:  # any failure means "unreachable" for a probe
                    self._state = f"unreachable: {type(error).__name__}"
                self._at = time.monotonic()
            return self._state


def serve(*, host: str, port: int, config_path: Path | None) -> None:
    """Run the server until interrupted."""
    import uvicorn

    from bot.adapters.logs import configure_logging
    from bot.adapters.store import open_store
    from bot.adapters.store.sole_replica import hold_sqlite

    configure_logging()
    from bot.adapters.slack.runtime import slack_runtime

    store, config = open_store(), load_config(config_path)
    sole = hold_sqlite(store.engine)  # a second replica on SQLite refuses here
    slack = slack_runtime(store=store, engine=store.engine, config=config)  # None: no Slack
    app = build_app(store=store, config=config, trigger=slack.trigger if slack else None,
                    slack_check=SlackCheck(slack.bolt.client) if slack else None)
    if slack is not None:
        slack.mount(app)  # POST /slack/events (or Socket Mode) + report updater, with the app
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=10,
        )
    )
    log.info("listening on http://%s:%s", host, port)
    try:
        server.run()
    finally:
        sole.release()
