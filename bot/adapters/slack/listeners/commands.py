"""`/segfault`: ack within Slack's 3 seconds (with the answer when there is one), then work."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.app.slack_flows import SlackFlows
from bot.app.slash_commands import first_answer, parse_command, run_command


def register(app: App, flows: SlackFlows, *, command: str = "/segfault") -> None:
    @app.command(command)
    def segfault(ack: Ack, command: dict[str, Any]) -> None:
        parsed = parse_command(flows, str(command.get("text") or ""))
        answer = first_answer(parsed)
        if answer is None:
            ack()
        else:
            ack(response_type="ephemeral", text=answer)
        run_command(flows, parsed, user=str(command["user_id"]),
                    channel=str(command["channel_id"]))
