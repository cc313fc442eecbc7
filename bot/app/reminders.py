"""Reminders: an open incident nobody has touched for too long, and a restart-delay drop-in
still in place after its incident was resolved. Each is claimed in the store per period, so a
restart or a second replica never repeats one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.app.claims import Replica, post_once
from bot.app.ports.schedule import Announcer, ScheduleStore
from bot.app.ports.slack import Place, SlackStore
from bot.app.ports.store import Store
from bot.domain.incident import IncidentDetail, Status, TimelineEvent, is_open
from bot.domain.mrkdwn import escape


@dataclass(frozen=True)
class ReminderPolicy:
    quiet_after: timedelta = timedelta(minutes=60)
    dropin_after: timedelta = timedelta(minutes=30)  # after resolution
    dropin_repeat: timedelta = timedelta(hours=24)
    forget_after: timedelta = timedelta(days=14)  # resolved and quiet this long: no reminders


def run_reminders(*, store: Store, schedule: ScheduleStore, slack: SlackStore,
                  announcer: Announcer, policy: ReminderPolicy, now: datetime,
                  replica: Replica | None = None) -> list[str]:
    """Post the reminders due now; the keys of those posted. With `replica`, a reminder a dead
    replica claimed is found in Slack or posted: exactly once."""
    posted: list[str] = []
    # Only open incidents and those resolved lately need their timeline read.
    recent = {i.id for i in store.list_incidents(limit=500)
              if is_open(i.status) or now - i.last_seen <= policy.forget_after}
    for place in slack.places():
        if place.incident_id not in recent:
            continue
        detail = store.incident_detail(place.incident_id)
        if detail is None:
            continue
        for key, text in due_reminders(detail, policy=policy, now=now):
            if replica is not None:
                if _post_once(schedule=schedule, announcer=announcer, replica=replica,
                              place=place, key=key, text=text, now=now):
                    posted.append(key)
            elif schedule.claim(key, kind="reminder", incident_id=place.incident_id, at=now):
                schedule.set_posted(key, announcer.post_text(place, text))
                posted.append(key)
    return posted


def _post_once(*, schedule: ScheduleStore, announcer: Announcer, replica: Replica,
               place: Place, key: str, text: str, now: datetime) -> bool:
    """Claimed in the store as before (a key posted once stays posted), then leased."""
    claimed = schedule.claim(key, kind="reminder", incident_id=place.incident_id, at=now)
    if not claimed and key not in schedule.unposted(place.incident_id, kind="reminder",
                                                    since=now - timedelta(days=1)):
        return False
    return post_once(replica=replica, key=key,
                     post=lambda claim: announcer.post_text(place, text, claim=claim),
                     find=lambda claim: announcer.find_posted(place, claim, mode="edit"),
                     record=lambda ts: schedule.set_posted(key, ts)) is not None


def due_reminders(detail: IncidentDetail, *, policy: ReminderPolicy,
                  now: datetime) -> list[tuple[str, str]]:
    """(once-only key, text) of each reminder due for this incident at `now`."""
    incident = detail.incident
    due: list[tuple[str, str]] = []
    if is_open(incident.status):
        last = max([incident.last_seen, *(e.time for e in detail.timeline
                                          if e.actor != "segbot")], default=incident.last_seen)
        quiet = now - last
        if quiet >= policy.quiet_after:
            period = quiet // policy.quiet_after
            who = f"<@{incident.commander}>" if incident.commander else "Incident commander"
            due.append((f"quiet:{incident.id}:{last:%Y%m%dT%H%M%S}:{period}",
                        f":hourglass: {who}: incident #{incident.id} "
                        f"({escape(incident.service)}) is "
                        f"still *{incident.status}* and nothing has happened for "
                        f"{_minutes(quiet)}. Resolve it, or say where it stands "
                        "(`/segfault note ...`)."))
    else:
        resolved = _resolved_at(detail.timeline)
        dropin = restart_delay_in_place(detail.timeline)
        if resolved is not None and dropin is not None and now - resolved >= policy.dropin_after:
            period = (now - resolved - policy.dropin_after) // policy.dropin_repeat
            due.append((f"dropin:{incident.id}:{period}",
                        f":wrench: Incident #{incident.id} is resolved but the restart-delay "
                        f"drop-in is still in place ({dropin.text}, {dropin.time:%Y-%m-%d %H:%M}"
                        " UTC). Remove it once the fix is out, or the next crash loop will be "
                        "slow to recover."))
    return due


def restart_delay_in_place(timeline: tuple[TimelineEvent, ...]) -> TimelineEvent | None:
    """The event that put a restart delay in place, unless a later one took it away."""
    placed: TimelineEvent | None = None
    for event in timeline:
        text = event.text.lower()
        if not event.kind.startswith("action") or not any(
                words in text for words in ("restart delay", "restart_delay", "restart loop")):
            continue
        if any(word in text for word in ("remove", "revert", "restored", "undone", "clear",
                                         "failed", "refused", "unknown", "waiting")):
            placed = None
        else:
            placed = event
    return placed


def _resolved_at(timeline: tuple[TimelineEvent, ...]) -> datetime | None:
    times = [e.time for e in timeline if e.kind == "status" and
             e.text.endswith(f"-> {Status.RESOLVED.value}")]
    return times[-1] if times else None


def _minutes(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes} minutes" if minutes < 120 else f"{minutes // 60} hours"
