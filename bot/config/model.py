"""The config file's model: SSH defaults, hosts, services, slack, authorization, schedule,
alerts. Every name that later reaches a shell or an SSH connection is checked here."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.config.alerts import AlertsSection
from bot.config.changes import ServiceChanges
from bot.config.containment import ServiceActions
from bot.config.slack import SlackSection
from bot.domain.playbook import DEFAULT_CORE_DIR

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
_ADDRESS = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,252}|\[?[0-9A-Fa-f:.]+\]?")
_UNIT = re.compile(r"[A-Za-z0-9][A-Za-z0-9@._:\\-]{0,250}\.(service|scope)")
_PATH = re.compile(r"/[A-Za-z0-9@%+=:,./_-]{0,4095}")

Name = Annotated[str, Field(pattern=f"^(?:{NAME.pattern})$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _absolute(value: str | None) -> str | None:
    if value is not None and not _PATH.fullmatch(value):
        raise ValueError(f"must be an absolute path of plain characters: {value!r}")
    return value


class SshSettings(_Model):
    """Settings a host inherits from `defaults` and may override."""

    user: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    identity_file: str | None = None
    known_hosts: str | None = None
    sudo: bool | None = None

    _paths = field_validator("identity_file", "known_hosts")(_absolute)

    @field_validator("user")
    @classmethod
    def _user(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[a-z_][a-z0-9_.-]{0,31}", value):
            raise ValueError(f"not a plain user name: {value!r}")
        return value


class Defaults(SshSettings):
    user: str | None = "segbot"
    port: int | None = Field(default=22, ge=1, le=65535)
    identity_file: str | None = "/etc/segbot/id_ed25519"
    known_hosts: str | None = "/etc/segbot/known_hosts"
    sudo: bool | None = True
    connect_timeout: float = Field(default=10.0, gt=0, le=120)
    run_timeout: float = Field(default=300.0, gt=0, le=3600)
    keepalive: float = Field(default=15.0, ge=0, le=600)
    max_sessions: int = Field(default=8, ge=1, le=64)  # sshd's MaxSessions defaults to 10
    max_hosts: int = Field(default=16, ge=1, le=256)
    max_output_bytes: int = Field(default=4 << 20, ge=1024)
    max_artifact_bytes: int = Field(default=4 << 30, ge=0)
    evidence_dir: str = "/var/lib/segbot/evidence"
    playbook: str | None = None
    # On each host: the SSH user's private (0700) directory for extracted cores, and whether a
    # core stays there after its copy off the host matched its sha256 (default: deleted).
    core_dir: str = DEFAULT_CORE_DIR
    keep_host_cores: bool = False

    _core_dir = field_validator("core_dir")(_absolute)


class Host(SshSettings):
    address: str
    labels: dict[Name, str] = Field(default_factory=dict)

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        if not _ADDRESS.fullmatch(value):
            raise ValueError(f"not a host name or IP address: {value!r}")
        return value


class Service(_Model):
    unit: str
    binary: str
    hosts: list[Name] | None = None
    selector: dict[Name, str] | None = None  # label selector: every label must match
    actions: ServiceActions = Field(default_factory=lambda: ServiceActions())
    changes: ServiceChanges = Field(default_factory=lambda: ServiceChanges())

    @field_validator("unit")
    @classmethod
    def _unit(cls, value: str) -> str:
        if not _UNIT.fullmatch(value):
            raise ValueError(f"not a systemd unit name: {value!r}")
        return value

    @field_validator("binary")
    @classmethod
    def _binary(cls, value: str) -> str:
        return str(_absolute(value))

    @model_validator(mode="after")
    def _one_way_to_pick_hosts(self) -> Service:
        if (self.hosts is None) == (self.selector is None):
            raise ValueError("give exactly one of hosts or selector")
        return self


class Schedule(_Model):
    """The `schedule:` section: summaries, reminders, the digest, the scheduler's own pace."""

    summary_minutes: float = Field(default=15, gt=0)
    summary_mode: Literal["edit", "thread"] = "edit"
    quiet_minutes: float = Field(default=60, gt=0)
    reminder_check_minutes: float = Field(default=5, gt=0)
    dropin_reminder_minutes: float = Field(default=30, ge=0)
    dropin_repeat_hours: float = Field(default=24, gt=0)
    digest_channels: list[str] = Field(default_factory=list)
    digest_time: str = Field(default="09:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    sync_seconds: float = Field(default=30, gt=0)
    leader_seconds: float = Field(default=5, gt=0)
    verify_seconds: float = Field(default=5, gt=0)


class Config(_Model):
    defaults: Defaults = Field(default_factory=Defaults)
    hosts: dict[Name, Host] = Field(default_factory=dict)
    services: dict[Name, Service] = Field(default_factory=dict)
    slack: SlackSection = Field(default_factory=SlackSection)
    authorization: dict[Name, list[str]] = Field(default_factory=dict)
    schedule: Schedule = Field(default_factory=Schedule)
    alerts: AlertsSection = Field(default_factory=AlertsSection)

    @model_validator(mode="after")
    def _references(self) -> Config:
        for name, service in self.services.items():
            for host in service.hosts or ():
                if host not in self.hosts:
                    raise ValueError(f"services.{name}.hosts: unknown host {host!r}")
        return self

    def service_hosts(self, service: str) -> list[str]:
        """The inventory hosts a service runs on, in inventory order."""
        entry = self.services[service]
        if entry.hosts is not None:
            return list(entry.hosts)
        wanted = entry.selector or {}
        return [
            name for name, host in self.hosts.items()
            if all(host.labels.get(k) == v for k, v in wanted.items())
        ]

    def target(self, host: str) -> Target:
        entry = self.hosts[host]

        def pick(key: str) -> Any:
            own = getattr(entry, key)
            return own if own is not None else getattr(self.defaults, key)

        return Target(
            name=host, address=entry.address, port=int(pick("port")), user=str(pick("user")),
            identity_file=Path(pick("identity_file")), known_hosts=Path(pick("known_hosts")),
            sudo=bool(pick("sudo")),
        )


class Target(_Model):
    """One host with every SSH setting resolved."""

    name: str
    address: str
    port: int
    user: str
    identity_file: Path
    known_hosts: Path
    sudo: bool
