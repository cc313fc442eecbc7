"""Slack's secrets and API URL, from the environment (the rest is the config's `slack:`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.errors import ConfigError


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
