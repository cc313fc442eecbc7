"""Prometheus metrics for the HTTP server, in a registry of the app's own."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram


@dataclass(frozen=True)
class IntakeMetrics:
    registry: CollectorRegistry
    alerts: Counter
    incidents_opened: Counter
    diagnoses: Counter
    ack_seconds: Histogram
    batch_size: Histogram


def intake_metrics() -> IntakeMetrics:
    registry = CollectorRegistry()
    return IntakeMetrics(
        registry=registry,
        alerts=Counter(
            "segbot_alerts",
            "Alerts received, by route and outcome",
            ["source", "outcome"],
            registry=registry,
        ),
        incidents_opened=Counter(
            "segbot_incidents_opened", "Incidents opened by alert intake", registry=registry
        ),
        diagnoses=Counter(
            "segbot_diagnoses_requested",
            "Diagnoses handed to diagnose (once per host)",
            registry=registry,
        ),
        ack_seconds=Histogram(
            "segbot_alert_ack_seconds",
            "Time from request to committed acknowledgement",
            ["source"],
            registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
        ),
        batch_size=Histogram(
            "segbot_commit_batch_requests",
            "Requests committed together (group commit)",
            registry=registry,
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
        ),
    )
