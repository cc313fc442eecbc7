"""The alert routes' wire formats (pydantic): what senders post, what we answer.

Field names follow each sender's own JSON. Unknown fields are ignored: senders add fields
between versions, and a new field must never turn into a rejected alert.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

Labels = dict[str, str]


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class AlertmanagerAlert(_Lenient):
    status: str = Field(default="firing", max_length=32)
    labels: Labels = Field(default_factory=dict)
    annotations: Labels = Field(default_factory=dict)
    startsAt: str | None = Field(default=None, max_length=64)
    endsAt: str | None = Field(default=None, max_length=64)
    generatorURL: str | None = None
    fingerprint: str | None = Field(default=None, max_length=128)


class AlertmanagerWebhook(_Lenient):
    """Alertmanager's webhook notifier payload (version 4)."""

    version: str | None = Field(default=None, max_length=16)
    groupKey: str | None = None
    truncatedAlerts: int | None = None
    status: str = Field(default="firing", max_length=32)
    receiver: str | None = None
    groupLabels: Labels = Field(default_factory=dict)
    commonLabels: Labels = Field(default_factory=dict)
    commonAnnotations: Labels = Field(default_factory=dict)
    externalURL: str | None = None
    alerts: list[AlertmanagerAlert] = Field(max_length=10_000)


class GrafanaAlert(AlertmanagerAlert):
    """Grafana's unified alerting webhook alert: Alertmanager's fields plus a few of its own."""

    dashboardURL: str | None = None
    panelURL: str | None = None
    valueString: str | None = None


class GrafanaWebhook(_Lenient):
    """Grafana's webhook contact point payload (unified alerting)."""

    receiver: str | None = None
    status: str = Field(default="firing", max_length=32)
    orgId: int | None = None
    alerts: list[GrafanaAlert] = Field(default_factory=list, max_length=10_000)
    groupLabels: Labels = Field(default_factory=dict)
    commonLabels: Labels = Field(default_factory=dict)
    commonAnnotations: Labels = Field(default_factory=dict)
    title: str | None = None
    message: str | None = None


class GenericAlert(_Lenient):
    """The generic route: one crash on one host; `message` may be a kernel or journal line."""

    host: str = Field(min_length=1, max_length=255)
    service: str = Field(min_length=1, max_length=255)
    signal: str | None = Field(default=None, max_length=32)
    time: str | None = Field(default=None, max_length=64, description="RFC 3339")
    message: str | None = Field(default=None, max_length=65_536)
    id: str | None = Field(
        default=None, max_length=255, description="the sender's id: re-sent ids count once"
    )
    version: str | None = Field(default=None, max_length=255)


class RejectedAlert(BaseModel):
    index: int
    reason: str


class IntakeResponse(BaseModel):
    accepted: int = Field(description="new occurrences stored (committed before this answer)")
    duplicates: int = Field(description="alerts already stored (re-sent), counted once")
    rejected: list[RejectedAlert] = Field(default_factory=list)
    incidents: list[int] = Field(default_factory=list)


class Problem(BaseModel):
    detail: str | list[RejectedAlert]
