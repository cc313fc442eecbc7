"""`/segfault`: ack within Slack's 3 seconds (with the answer when there is one), then work; a
command that works after its ack is stored first (HTTP and Socket Mode alike), so a replica
dying after the ack leaves it to another."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.adapters.slack.listeners.entry import open_form
from bot.adapters.slack.reply import EphemeralReply
from bot.adapters.slack.web_chat import SlackChat
from bot.app.slack_entry import SlackEntry
from bot.app.slash_commands import SlashCommands, first_answer, works_after_ack
from bot.app.slash_requests import SlashIntake
from bot.errors import SegbotError

log = logging.getLogger("segbot.slack.commands")


def register(app: App, commands: SlashCommands, entry: SlackEntry, chat: SlackChat, *,
             command: str, intake: SlashIntake | None = None) -> None:
    @app.command(command)
    def segfault(ack: Ack, respond: Respond, command: dict[str, Any],
                 client: WebClient) -> None:
        if not str(command.get("text") or "").strip():  # alone: the form, with pick lists
            ack()
            open_form(client, entry, trigger_id=str(command["trigger_id"]),
                      channel=str(command["channel_id"]),
                      response_url=command.get("response_url"))
            return
        text = str(command.get("text") or "")
        parsed = commands.parse(text)
        answer = first_answer(parsed)
        user, channel = str(command["user_id"]), str(command["channel_id"])
        received = None
        if intake is not None and works_after_ack(parsed):
            try:  # before the ack: acknowledged means stored
                received = intake.receive(text=text, user=user, channel=channel,
                                          response_url=command.get("response_url"))
            except SegbotError as error:
                log.warning("/segfault not stored, refused: %s", error)
                ack(response_type="ephemeral", text=":warning: segbot cannot take this in "
                    "right now (its database is unreachable); type it again in a minute.")
                return
        if answer is None:
            ack()
        else:
            ack(response_type="ephemeral", text=answer)
        reply = EphemeralReply(respond=respond, chat=chat, channel=channel, user=user)
        if intake is not None and received is not None:
            intake.run(received, parsed, reply)
        else:
            commands.run(parsed, user=user, channel=channel, reply=reply)
