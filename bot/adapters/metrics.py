"""segbot's own Prometheus metrics, process-wide: diagnose steps, SSH failures, Slack API
calls and retries, containment actions. `/metrics` serves them next to the intake's."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry()

DIAGNOSE_STEP_SECONDS = Histogram(
    "segbot_diagnose_step_seconds", "Duration of each playbook step, by step and status",
    ["step", "status"], registry=REGISTRY,
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300))
SSH_FAILURES = Counter(
    "segbot_ssh_failures", "SSH failures, by kind (host_key, auth, timeout, lost, unreachable, "
    "channel)", ["kind"], registry=REGISTRY)
SLACK_CALLS = Counter(
    "segbot_slack_api_calls", "Slack Web API calls, by method and outcome",
    ["method", "outcome"], registry=REGISTRY)
SLACK_RETRIES = Counter(
    "segbot_slack_api_retries", "Slack Web API retries, by reason (rate_limited, server_error, "
    "connection)", ["reason"], registry=REGISTRY)
ACTIONS = Counter(
    "segbot_actions", "Containment actions, by action and outcome", ["action", "outcome"],
    registry=REGISTRY)


def observe_steps(steps: Iterable[tuple[str, str, float]]) -> None:
    """Record finished playbook steps: (step id, status, seconds)."""
    for step, status, seconds in steps:
        DIAGNOSE_STEP_SECONDS.labels(step=step, status=status).observe(seconds)
