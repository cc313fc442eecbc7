"""The Bolt app factory: one App per process, listeners registered group by group."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk import WebClient

from bot.adapters.slack.listeners import actions, commands, entry, errors, timeline
from bot.adapters.slack.web_chat import SlackChat
from bot.app.schedule_ports import ScheduleStore
from bot.app.slack_flows import SlackFlows


def create_bolt_app(*, client: WebClient, flows: SlackFlows, chat: SlackChat,
                    signing_secret: str | None, socket_mode: bool,
                    command: str = "/segfault",
                    schedule: ScheduleStore | None = None) -> App:
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
    commands.register(app, flows, chat, command=command)
    actions.register(app, flows, chat)
    entry.register(app, flows, chat)
    if schedule is not None and flows.announcer is not None:
        timeline.register(app, flows, schedule, flows.announcer)
    return app
