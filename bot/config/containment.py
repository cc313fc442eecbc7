"""The `services.NAME.actions` section: how each containment action is carried out (an HTTP
call or an SSH command template), checked at load time; credentials only as `${ENV_NAME}`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.domain.containment import PLACEHOLDERS, TemplateError, check_template
from bot.domain.playbook import check_template as check_shell_template
from bot.errors import ConfigError

_SECRET_HEADER = re.compile(r"authorization|token|secret|api[-_]?key|cookie|password",
                            re.IGNORECASE)
_SECRET_LOOKING = re.compile(r"^(Bearer|Basic|token)\s+[A-Za-z0-9._~+/=-]{8,}$|"
                             r"^(xox[abp]|ghp_|github_pat_|api-)", re.IGNORECASE)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _template(value: Any, where: str) -> Any:
    try:
        check_template(value, where)
    except TemplateError as error:
        raise ValueError(str(error)) from None
    return value


class HttpCall(_Model):
    """One HTTP request. `url` and `body` are templates ({service}, {version}, {to_version},
    {flag}, {incident}, {action_id}, ...); header values may use `${ENV_NAME}`."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    body: Any = None
    timeout: float = Field(default=30.0, gt=0, le=600)
    ok_status: list[int] = Field(default_factory=list)  # empty: any 2xx

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None:
            if not re.match(r"^https?://", value):
                raise ValueError(f"not an http(s) URL: {value!r}")
            _template(value, "url")
        return value

    @field_validator("body")
    @classmethod
    def _body(cls, value: Any) -> Any:
        return _template(value, "body")

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if "${" in text:
                continue
            if _SECRET_HEADER.search(name) or _SECRET_LOOKING.search(text):
                raise ValueError(f"header {name}: credentials come from the environment "
                                 f"(write ${{ENV_NAME}}), never the config file")
        _template(value, "headers")
        return value


class FlagRead(HttpCall):
    """How to read a flag's current value for the preview: a GET and the dotted path of the
    value in the JSON answer (`environments.production.enabled`, `on`)."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    value: str = "enabled"


class Rollback(HttpCall):
    """An HTTP call to the deploy system, or `command`: a shell template run over SSH on each
    of the service's hosts (values shell-quoted), e.g. a release-symlink switch and restart."""

    command: str | None = None
    second_approver: bool = False  # a second person (never the requester) must also click

    @field_validator("command")
    @classmethod
    def _command(cls, value: str | None) -> str | None:
        if value is None:
            return None
        _template(value, "command")
        # The playbook's shell checks: no value inside quotes, after $ or `, under sh -c/eval.
        try:
            check_shell_template(value, "rollback command", known=PLACEHOLDERS)
        except ConfigError as error:
            raise ValueError(str(error).removeprefix("step ")) from None
        return value

    @model_validator(mode="after")
    def _one_way(self) -> Rollback:
        if (self.url is None) == (self.command is None):
            raise ValueError("give exactly one of url (HTTP) or command (SSH)")
        return self


class DisableFlag(HttpCall):
    """An HTTP call to the flag service for the flag the deploy markers name (or `flag`)."""

    flag: str | None = None  # used when the evidence names no flag
    read: FlagRead | None = None  # the current value, shown before anyone confirms


class RestartDelay(_Model):
    """A systemd drop-in through the host helper restart-delay (deploy/host/)."""

    seconds: int = Field(default=30, ge=1, le=3600)
    helper: str = "/usr/local/libexec/segbot/restart-delay"
    restart: bool = True  # reset-failed + restart the unit so the new delay applies now


class PreserveCore(_Model):
    """Copy the newest core off the host (the diagnose playbook's preservation steps)."""


class Verification(_Model):
    """After an action: look for new occurrences of the signature for this long."""

    after_minutes: float = Field(default=10.0, gt=0, le=24 * 60)
    count_on_hosts: bool = True  # also count new cores on the service's hosts (coredumpctl)


_ACTIONS = ("rollback", "disable_flag", "restart_delay", "preserve_core")


class ServiceActions(_Model):
    rollback: Rollback | None = None
    disable_flag: DisableFlag | None = None
    restart_delay: RestartDelay | None = None
    preserve_core: PreserveCore | None = None
    verify: Verification = Field(default_factory=Verification)

    def __contains__(self, action: object) -> bool:
        return isinstance(action, str) and action in _ACTIONS and getattr(
            self, action) is not None

    def __iter__(self) -> Iterator[str]:  # type: ignore[override]
        """The names of the configured actions (`set(service.actions)`, `"x" in actions`)."""
        return iter([name for name in _ACTIONS if getattr(self, name) is not None])

    def executable(self, action: str) -> bool:
        """Whether segbot can carry the action out (not just that it is mentioned)."""
        if action == "restart_delay_revert":
            action = "restart_delay"
        if action not in self:
            return False
        if action == "disable_flag":
            return self.disable_flag is not None and self.disable_flag.url is not None
        return True
