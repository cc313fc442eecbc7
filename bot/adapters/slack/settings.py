"""Slack settings: secrets from the environment, the rest from the config file's `slack:`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.errors import ConfigError

DEFAULT_COMMAND = "/segfault"


@dataclass(frozen=True)
class SlackEnv:
    bot_token: str
    app_token: str | None  # set: Socket Mode
    signing_secret: str | None  # HTTP mode: required
    api_url: str | None

    @property
    def socket_mode(self) -> bool:
        return self.app_token is not None


def slack_env(environ: Mapping[str, str]) -> SlackEnv | None:
    """None when SLACK_BOT_TOKEN is unset (serve then runs without Slack)."""
    token = environ.get("SLACK_BOT_TOKEN", "").strip()
    if not token:
        return None
    env = SlackEnv(bot_token=token, app_token=environ.get("SLACK_APP_TOKEN", "").strip() or None,
                   signing_secret=environ.get("SLACK_SIGNING_SECRET", "").strip() or None,
                   api_url=environ.get("SEGBOT_SLACK_API_URL", "").strip() or None)
    if not env.socket_mode and env.signing_secret is None:
        raise ConfigError("SLACK_BOT_TOKEN is set but neither SLACK_APP_TOKEN (Socket Mode) "
                          "nor SLACK_SIGNING_SECRET (HTTP at /slack/events) is")
    return env


@dataclass(frozen=True)
class SlackOptions:
    """The config file's `slack:` section."""

    channel_prefix: str = "inc"
    oncall_usergroup: str | None = None
    shared_channel: str | None = None
    command: str = DEFAULT_COMMAND
    app_name: str = "segbot"
    public_url: str | None = None  # HTTP mode: where Slack reaches /slack/events
    min_update_interval: float = 2.0
    global_update_interval: float = 1.2
    poll_interval: float = 5.0
    proposal_ttl: timedelta = timedelta(hours=4)
    # Incident channels carry command output (memory maps, backtraces, logs): members only.
    private_channels: bool = True


def slack_options(config: Mapping[str, Any]) -> SlackOptions:
    section = config.get("slack") or {}
    if not isinstance(section, Mapping):
        raise ConfigError("config: `slack` must be a mapping")
    try:
        command = str(section.get("command", DEFAULT_COMMAND))
        if not command.startswith("/") or len(command) > 32 or " " in command:
            raise ValueError(f"command must look like /segfault, not {command!r}")
        options = SlackOptions(
            channel_prefix=str(section.get("incident_channel_prefix", "inc")),
            oncall_usergroup=_optional(section.get("oncall_usergroup")),
            shared_channel=_optional(section.get("channel")),
            command=command,
            app_name=str(section.get("app_name", "segbot"))[:35],
            public_url=_optional(section.get("public_url")),
            min_update_interval=float(section.get("report_min_interval_seconds", 2.0)),
            global_update_interval=float(section.get("report_global_interval_seconds", 1.2)),
            poll_interval=float(section.get("poll_seconds", 5.0)),
            proposal_ttl=timedelta(minutes=float(section.get("proposal_ttl_minutes", 240))),
            private_channels=_flag(section.get("private_channels", True)),
        )
    except (TypeError, ValueError) as error:
        raise ConfigError(f"config: bad value under `slack`: {error}") from None
    if min(options.min_update_interval, options.global_update_interval,
           options.poll_interval) < 0 or options.proposal_ttl <= timedelta(0):
        raise ConfigError("config: slack intervals must be >= 0 and the proposal TTL > 0")
    return options


def _optional(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"private_channels must be true or false, not {value!r}")
    return value
