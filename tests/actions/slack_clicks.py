"""Small helpers for clicking containment buttons in the Slack emulator."""

from __future__ import annotations

from typing import Any

from tests.support.slack_harness import Running, buttons


def report(bot: Running) -> tuple[str, str, dict[str, Any]]:
    """(channel, ts, message) of the report (the one message with blocks; segbot's notices
    in the channel are plain text)."""
    found = [(k, m) for k, m in bot.emulator.messages.items() if m.get("blocks")]
    assert len(found) == 1, found
    (channel, ts), message = found[0]
    return channel, ts, message


def answers(bot: Running, user: str) -> list[str]:
    return [e.get("text", "") for e in bot.emulator.ephemeral if e["user"] == user]


def notices(bot: Running) -> list[str]:
    return [str(m.get("text", "")) for m in bot.emulator.messages.values()
            if not m.get("blocks")]


def click(bot: Running, action: str, user: str, *, wait: bool = True,
          timeout: float = 60.0, button: dict[str, Any] | None = None) -> dict[str, Any]:
    """Click the report's `action` button (or `button`) as `user` and wait for the answer to
    that user."""
    channel, ts, message = report(bot)
    button = button or buttons(message)[action]
    before = len(answers(bot, user))
    bot.click(button, user=user, channel=channel, message_ts=ts)
    if wait:
        bot.emulator.wait_for(lambda: len(answers(bot, user)) > before, timeout)
    return button
