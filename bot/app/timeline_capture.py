"""People add to an incident's timeline: a 📌 reaction or a pin on a message in the incident's
channel, or in its thread of a shared channel (stamped with the message's own time, once per
message), and `/segfault note`."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.app.incidents import record_event
from bot.app.ports.schedule import Announcer, ScheduleStore
from bot.app.ports.slack import SlackStore
from bot.app.ports.store import Store
from bot.domain.incident import TimelineEvent

PIN_REACTIONS = frozenset({"pushpin", "round_pushpin"})
MAX_TEXT = 1000


def message_time(ts: str) -> datetime | None:
    """A Slack message ts ("1700000000.000100") is its posting time in epoch seconds."""
    try:
        return datetime.fromtimestamp(float(ts), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def capture_message(*, store: Store, slack: SlackStore, schedule: ScheduleStore,
                    announcer: Announcer, channel: str, ts: str, user: str, via: str,
                    text: str | None, now: datetime, thread_ts: str | None = None) -> int | None:
    """Add the message to its incident's timeline; the incident id, or None when it is neither
    in an incident channel nor in an incident's thread, is segbot's own report or summary, or
    was captured already. `text` and `thread_ts` as the event told them, if it did."""
    when = message_time(ts)
    if when is None:
        return None
    place = slack.place_for_channel(channel)
    if place is None:  # a shared channel: the message belongs to the incident of its thread
        if thread_ts is None and text is None:
            told = announcer.message(channel, ts)
            text, thread_ts = (told.text, told.thread_ts) if told else (None, None)
        place = slack.place_for_thread(channel, thread_ts) if thread_ts else None
        if place is None:
            return None
    if ts in {place.report_ts, schedule.summary_ts(place.incident_id)}:
        return None  # segbot pins these itself
    if not schedule.capture(channel=channel, message_ts=ts, incident_id=place.incident_id,
                            via=via, at=now):
        return None
    if text is None:
        told = announcer.message(channel, ts)
        text = told.text if told else None
    body = " ".join((text or "(message text not available)").split())
    if len(body) > MAX_TEXT:
        body = body[: MAX_TEXT - 1] + "…"
    record_event(store=store, incident_id=place.incident_id, event=TimelineEvent(
        when, "note", body, actor=user, source=f"slack:{via}"))
    return place.incident_id


def add_note(*, store: Store, incident_id: int, user: str, text: str, now: datetime) -> None:
    body = " ".join(text.split())[:MAX_TEXT]
    record_event(store=store, incident_id=incident_id, event=TimelineEvent(
        now, "note", body, actor=user, source="slack"))
