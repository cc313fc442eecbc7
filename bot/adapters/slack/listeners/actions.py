"""Report buttons: every button carries a proposal id; the click use case decides."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App

from bot.app.clicks import click
from bot.app.slack_flows import SlackFlows

PROPOSAL = re.compile(r"^proposal:")


def register(app: App, flows: SlackFlows) -> None:
    @app.action(PROPOSAL)
    def proposal(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        user = str(body["user"]["id"])
        answer = click(flows, proposal_id=str(action.get("value") or ""), user=user)
        channel = (body.get("channel") or {}).get("id") or (
            body.get("container") or {}).get("channel_id")
        if channel:
            flows.chat.tell(channel=str(channel), user=user, text=answer.text)
