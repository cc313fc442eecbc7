"""The `alerts:` section: how alerts are grouped and read, and limits of the HTTP server."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from bot.domain.alerts import LabelRules

_RULES = LabelRules()


class AlertsSection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # An alert without a crash signature joins the service's latest incident in this window.
    group_window_seconds: float = Field(default=900.0, gt=0)
    host_labels: list[str] = Field(default_factory=lambda: list(_RULES.host))
    service_labels: list[str] = Field(default_factory=lambda: list(_RULES.service))
    message_annotations: list[str] = Field(default_factory=lambda: list(_RULES.message))
    max_body_bytes: int = Field(default=1 << 20, gt=0)
    openapi: StrictBool = False  # serve /openapi.json and /docs
    hmac_max_age_seconds: float = Field(default=300.0, gt=0, le=3600)

    @property
    def window(self) -> timedelta:
        return timedelta(seconds=self.group_window_seconds)

    @property
    def label_rules(self) -> LabelRules:
        return LabelRules(host=tuple(self.host_labels), service=tuple(self.service_labels),
                          message=tuple(self.message_annotations))
