"""Timeline capture: a :pushpin: reaction or a pin on a message in an incident channel (or an
incident's thread of a shared channel) adds that message to the incident's timeline
(bot.app.timeline_capture decides; this only hands off)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.app.schedule_ports import Announcer, ScheduleStore
from bot.app.slack_flows import SlackFlows
from bot.app.timeline_capture import PIN_REACTIONS, capture_message


def register(app: App, flows: SlackFlows, schedule: ScheduleStore,
             announcer: Announcer) -> None:
    def capture(channel: str, ts: str, user: str, via: str, text: str | None,
                thread_ts: str | None = None) -> None:
        capture_message(store=flows.store, slack=flows.slack_store, schedule=schedule,
                        announcer=announcer, channel=channel, ts=ts, user=user, via=via,
                        text=text, now=flows.clock(), thread_ts=thread_ts)

    @app.event("reaction_added")
    def reaction(ack: Ack, event: dict[str, Any]) -> None:
        ack()
        item = event.get("item") or {}
        if event.get("reaction") in PIN_REACTIONS and item.get("type") == "message":
            capture(str(item.get("channel")), str(item.get("ts")), str(event.get("user")),
                    "reaction", None)

    @app.event("pin_added")
    def pin(ack: Ack, event: dict[str, Any]) -> None:
        ack()
        item = event.get("item") or {}
        message = item.get("message") or {}
        ts = message.get("ts") or item.get("ts")
        if item.get("type") == "message" and ts:
            channel = str(item.get("channel") or event.get("channel_id") or "")
            capture(channel, str(ts), str(event.get("user")), "pin", message.get("text"),
                    message.get("thread_ts"))
