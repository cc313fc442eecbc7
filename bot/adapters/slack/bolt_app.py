"""The Bolt app: one per process, its listener groups registered with the use cases they call."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from slack_bolt import App
from slack_sdk import WebClient

from bot.adapters.slack.listeners import actions, commands, entry, errors, timeline
from bot.adapters.slack.web_chat import SlackChat
from bot.app.clicks import Clicks
from bot.app.ports.schedule import Announcer, ScheduleStore
from bot.app.ports.slack import SlackStore
from bot.app.ports.store import Store
from bot.app.slack_entry import SlackEntry
from bot.app.slash_commands import SlashCommands
from bot.app.slash_requests import SlashIntake


def create_bolt_app(*, client: WebClient, clicks: Clicks, slash: SlashCommands,
                    ways_in: SlackEntry, chat: SlackChat, signing_secret: str | None,
                    socket_mode: bool, command: str, store: Store, slack_store: SlackStore,
                    schedule: ScheduleStore, announcer: Announcer,
                    clock: Callable[[], datetime], intake: SlashIntake | None = None) -> App:
    app = App(
        client=client,
        signing_secret=signing_secret,
        # HTTP requests are verified (signature + 5-minute timestamp window); Socket Mode
        # requests arrive over the app-token websocket instead.
        request_verification_enabled=not socket_mode,
        # auth.test on the first request, not at start-up: serve starts while Slack is down.
        token_verification_enabled=False,
        process_before_response=False,
        logger=logging.getLogger("segbot.slack.bolt"),
    )
    errors.register(app, chat)
    commands.register(app, slash, ways_in, chat, command=command, intake=intake)
    actions.register(app, clicks, chat)
    entry.register(app, ways_in, chat)
    timeline.register(app, store=store, slack_store=slack_store, schedule=schedule,
                      announcer=announcer, clock=clock)
    return app
