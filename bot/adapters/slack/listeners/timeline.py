"""Timeline capture: a :pushpin: reaction or a pin on a message in an incident channel (or an
incident's thread of a shared channel) adds that message to the incident's timeline
(bot.app.timeline_capture decides; this only hands off)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App

from bot.app.ports.schedule import Announcer, ScheduleStore
from bot.app.ports.slack import SlackStore
from bot.app.ports.store import Store
from bot.app.timeline_capture import PIN_REACTIONS, capture_message


def register(app: App, *, store: Store, slack_store: SlackStore, schedule: ScheduleStore,
             announcer: Announcer, clock: Callable[[], datetime]) -> None:
    def capture(channel: str, ts: str, user: str, via: str, text: str | None,
                thread_ts: str | None = None) -> None:
        capture_message(store=store, slack=slack_store, schedule=schedule,
                        announcer=announcer, channel=channel, ts=ts, user=user, via=via,
                        text=text, now=clock(), thread_ts=thread_ts)

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
