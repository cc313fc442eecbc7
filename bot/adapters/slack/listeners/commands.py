"""`/segfault`: ack within Slack's 3 seconds (with the answer when there is one), then work."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.adapters.slack.listeners.entry import open_form
from bot.adapters.slack.reply import EphemeralReply
from bot.adapters.slack.web_chat import SlackChat
from bot.app.slack_entry import SlackEntry
from bot.app.slash_commands import SlashCommands, first_answer


def register(app: App, commands: SlashCommands, entry: SlackEntry, chat: SlackChat, *,
             command: str) -> None:
    @app.command(command)
    def segfault(ack: Ack, respond: Respond, command: dict[str, Any],
                 client: WebClient) -> None:
        if not str(command.get("text") or "").strip():  # alone: the form, with pick lists
            ack()
            open_form(client, entry, trigger_id=str(command["trigger_id"]),
                      channel=str(command["channel_id"]),
                      response_url=command.get("response_url"))
            return
        parsed = commands.parse(str(command.get("text") or ""))
        answer = first_answer(parsed)
        if answer is None:
            ack()
        else:
            ack(response_type="ephemeral", text=answer)
        user, channel = str(command["user_id"]), str(command["channel_id"])
        commands.run(parsed, user=user, channel=channel,
                     reply=EphemeralReply(respond=respond, chat=chat, channel=channel, user=user))
