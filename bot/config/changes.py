"""The `services.NAME.changes` section: the service's git repository (for suspect commits),
the flags it owns (for flag webhooks that name no service), and its flag service (asked when
an incident opens). Tokens come from the environment, named by `token_env`."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

FlagName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FlagServiceSettings(_Model):
    """Unleash (admin API) or LaunchDarkly (REST API v2 and its audit log)."""

    kind: Literal["unleash", "launchdarkly"]
    url: str
    token_env: str = Field(pattern=r"^[A-Z_][A-Z0-9_]{0,63}$")
    project: str = Field(default="default", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    environment: str = Field(default="production", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    timeout: float = Field(default=5.0, gt=0, le=60)
    recent_hours: float = Field(default=24.0, gt=0, le=24 * 30)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.fullmatch(r"https?://[^\s{}]+", value):
            raise ValueError(f"not an http(s) URL: {value!r}")
        return value.rstrip("/")


class ServiceChanges(_Model):
    repo: str | None = None  # a local clone or mirror; fetching it is the operator's job
    flags: list[FlagName] = Field(default_factory=list)
    flag_service: FlagServiceSettings | None = None
    lookback_hours: float = Field(default=24.0, gt=0, le=24 * 90)

    @field_validator("repo")
    @classmethod
    def _repo(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"/[A-Za-z0-9@%+=:,./_-]{0,4095}", value):
            raise ValueError(f"must be an absolute path of plain characters: {value!r}")
        return value
