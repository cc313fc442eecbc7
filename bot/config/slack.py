"""The `slack:` section: channel naming, the slash command, report pacing, proposal lifetime.
Tokens never live here; a key that looks like one is refused."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

_SECRET_KEYS = re.compile(r"token|secret|password|passwd|private_key", re.IGNORECASE)
DEFAULT_COMMAND = "/segfault"


class SlackSection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    command: str = DEFAULT_COMMAND
    app_name: str = "segbot"
    public_url: str | None = None  # HTTP mode: where Slack reaches /slack/events
    incident_channel_prefix: str = "inc"
    channel: str | None = None  # one shared channel, a thread per incident
    oncall_usergroup: str | None = None
    report_min_interval_seconds: float = Field(default=2.0, ge=0)
    report_global_interval_seconds: float = Field(default=1.2, ge=0)
    poll_seconds: float = Field(default=5.0, ge=0)
    proposal_ttl_minutes: float = Field(default=240, gt=0)
    # Incident channels carry command output (memory maps, backtraces, logs): members only.
    private_channels: StrictBool = True

    @model_validator(mode="before")
    @classmethod
    def _no_secrets(cls, data: Any) -> Any:
        for key in data if isinstance(data, dict) else ():
            if _SECRET_KEYS.search(str(key)):
                raise ValueError(f"slack.{key}: secrets come from the environment, not the file")
        return data

    @field_validator("command")
    @classmethod
    def _command(cls, value: str) -> str:
        if not value.startswith("/") or len(value) > 32 or " " in value:
            raise ValueError(f"command must look like /segfault, not {value!r}")
        return value

    @field_validator("app_name")
    @classmethod
    def _app_name(cls, value: str) -> str:
        return value[:35]  # Slack's limit on an app's display name

    @field_validator("public_url", "channel", "oncall_usergroup")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @property
    def proposal_ttl(self) -> timedelta:
        return timedelta(minutes=self.proposal_ttl_minutes)
