"""The one error handler: the user gets a short message with an error id that is in the log."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from slack_bolt import App, Respond

from bot.adapters.slack.reply import EphemeralReply
from bot.adapters.slack.web_chat import SlackChat
from bot.errors import SegbotError

log = logging.getLogger("segbot.slack.errors")


def _where(body: dict[str, Any]) -> tuple[str | None, str | None]:
    user = body.get("user_id") or (body.get("user") or {}).get("id")
    channel = body.get("channel_id") or (body.get("channel") or {}).get("id") or (
        body.get("container") or {}).get("channel_id")
    return (str(user) if user else None), (str(channel) if channel else None)


def register(app: App, chat: SlackChat) -> None:
    @app.error
    def on_error(error: Exception, body: dict[str, Any], respond: Respond | None) -> None:
        error_id = secrets.token_hex(4)
        log.error("slack request failed, error id %s: %s: %s", error_id,
                  type(error).__name__, error, exc_info=error)
        reason = str(error) if isinstance(error, SegbotError) else "an internal error"
        text = (f":warning: segbot could not do that: {reason[:300]} "
                f"(error id `{error_id}`; the bot's log has the details).")
        user, channel = _where(body or {})
        if user:
            try:
                EphemeralReply(respond=respond, chat=chat, channel=channel, user=user).text(text)
            except Exception as failure:  # Slack itself is the problem: the log still has it
                log.warning("error id %s not shown to the user: %s", error_id, failure)
