"""Incident channels carry every step's output (backtraces, logs, memory maps): by default they
are private (conversations.create is_private, groups:write in the manifest)."""

from __future__ import annotations

from slack_harness import LocalRunner, Running

from bot.adapters.slack.manifest import manifest
from bot.config import config_from


def test_incident_channels_are_private_by_default(
        local_bot: tuple[Running, LocalRunner]) -> None:
    bot, _ = local_bot
    bot.slash("node-17 checkout-api")
    bot.emulator.wait_for(lambda: bot.emulator.channels)
    [channel] = bot.emulator.channels.values()
    assert channel.private, channel
    assert "groups:write" in manifest(config_from({}).slack, socket_mode=True)[
        "oauth_config"]["scopes"]["bot"]


def test_public_channels_only_when_configured() -> None:
    options = config_from({"slack": {"private_channels": False}}).slack
    assert not options.private_channels
    assert "groups:write" not in manifest(options, socket_mode=True)[
        "oauth_config"]["scopes"]["bot"]
