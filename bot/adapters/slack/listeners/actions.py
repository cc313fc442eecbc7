"""Report buttons: every button carries a proposal id; the click use case decides."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.adapters.slack.reply import EphemeralReply
from bot.adapters.slack.web_chat import SlackChat
from bot.app.clicks import Clicks

PROPOSAL = re.compile(r"^proposal:")


def register(app: App, clicks: Clicks, chat: SlackChat) -> None:
    @app.action(PROPOSAL)
    def proposal(ack: Ack, respond: Respond, body: dict[str, Any],
                 action: dict[str, Any]) -> None:
        ack()
        user = str(body["user"]["id"])
        answer = clicks.click(proposal_id=str(action.get("value") or ""), user=user)
        channel = (body.get("channel") or {}).get("id") or (
            body.get("container") or {}).get("channel_id")
        EphemeralReply(respond=respond, chat=chat, channel=str(channel) if channel else None,
                       user=user).text(answer.text)
