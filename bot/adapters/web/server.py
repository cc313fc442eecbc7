"""Builds and runs the HTTP server: settings from the environment and config file, the store,
the intake, uvicorn."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from bot.adapters.web.app import WebSettings, create_app
from bot.adapters.web.intake import Intake
from bot.adapters.web.metrics import intake_metrics
from bot.app.incidents import DEFAULT_WINDOW, message_decoder
from bot.app.ports import DiagnosisTrigger, Store
from bot.domain.alerts import LabelRules
from bot.domain.incident import DiagnosisRequest
from bot.errors import ConfigError

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
    store: Store,
    config: Mapping[str, Any],
    environ: Mapping[str, str] = os.environ,
    trigger: DiagnosisTrigger | None = None,
) -> FastAPI:
    window, rules, limit = alert_settings(config)
    metrics = intake_metrics()
    try:
        linger = float(environ.get("SEGBOT_COMMIT_LINGER", "0"))
    except ValueError:
        raise ConfigError("SEGBOT_COMMIT_LINGER must be a number of seconds") from None
    intake = Intake(
        linger=linger,
        store=store,
        trigger=trigger or LoggingTrigger(),
        decoder=message_decoder(),
        metrics=metrics,
        window=window,
    )
    settings = WebSettings(
        alert_token=environ.get("SEGBOT_ALERT_TOKEN") or None,
        grafana_hmac_secret=environ.get("SEGBOT_GRAFANA_HMAC_SECRET") or None,
        max_body_bytes=limit,
        label_rules=rules,
        bench_baseline=environ.get("SEGBOT_BENCH_BASELINE") == "1",
    )
    return create_app(intake=intake, metrics=metrics, settings=settings)


def serve(*, host: str, port: int, config_path: Path | None) -> None:
    """Run the server until interrupted."""
    import uvicorn

    from bot.adapters.store import open_store

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from bot.adapters.slack.runtime import slack_runtime

    store, config = open_store(), load_config(config_path)
    slack = slack_runtime(store=store, engine=store.engine, config=config)  # None: no Slack
    app = build_app(store=store, config=config, trigger=slack.trigger if slack else None)
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
    server.run()
