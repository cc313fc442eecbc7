"""Incident summaries every N minutes while an incident is open: what is new since the last
one (occurrences, hosts, versions, signature), the actions taken and their verification, and
how long it has been crash-free. Each slot is claimed in the store before it is posted, so a
restart or a second replica never posts the same summary twice."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from bot.app.claims import Replica, post_once
from bot.app.ports.schedule import (
    Announcer,
    NewOccurrences,
    ScheduleStore,
    SummaryMode,
    SummaryState,
)
from bot.app.ports.slack import Place, SlackStore
from bot.app.ports.store import Store
from bot.domain.incident import Incident, IncidentDetail, TimelineEvent, is_open
from bot.domain.mrkdwn import escape

log = logging.getLogger("segbot.schedule.summaries")

# Timeline kinds that are "what was done" (containment actions and their verification).
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_USER = re.compile(r"[UW][A-Z0-9]{2,20}")  # a Slack user id
ACTION_KINDS = ("action", "containment", "verification", "verify", "rollback")


@dataclass(frozen=True)
class SummaryView:
    incident: Incident
    number: int
    since: datetime
    now: datetime
    new: tuple[NewOccurrences, ...]
    new_hosts: tuple[str, ...]  # hosts that crashed for the first time since the last summary
    versions: tuple[str, ...]  # every version seen crashing
    signature_change: tuple[str | None, str] | None  # (was, now)
    actions: tuple[TimelineEvent, ...]  # since the last summary
    crash_free: timedelta | None  # since the last crash, when none is new

    @property
    def new_count(self) -> int:
        return sum(n.count for n in self.new)


def slot_of(*, opened_at: datetime, now: datetime, every: timedelta) -> datetime:
    """The start of the summary slot `now` falls in (slots count from the incident's opening),
    the same for every replica and after any restart."""
    periods = max(0, (now - opened_at) // every)
    return opened_at + periods * every


def run_summary(*, store: Store, schedule: ScheduleStore, slack: SlackStore,
                announcer: Announcer, incident_id: int, every: timedelta, mode: SummaryMode,
                now: datetime, replica: Replica | None = None) -> SummaryView | None:
    """Post the incident's summary for the current slot; None when nothing was posted (closed,
    no place in Slack yet, or this slot was already claimed by a restart or another replica).

    With `replica`, each slot is also leased: a summary claimed by a replica that died before
    recording its post is looked for in Slack (by its metadata) and posted if it is not there,
    so each summary is posted exactly once."""
    detail = store.incident_detail(incident_id)
    place = slack.place(incident_id)
    if detail is None or place is None or not is_open(detail.incident.status):
        return None
    incident = detail.incident
    slot = slot_of(opened_at=incident.opened_at, now=now, every=every)
    if slot <= incident.opened_at:
        return None  # the first summary comes one interval after the opening
    key = f"summary:{incident_id}:{slot:%Y%m%dT%H%M%S}"
    state = schedule.summary_state(incident_id)
    if replica is not None:
        recovered = _recover(schedule=schedule, announcer=announcer, replica=replica,
                             place=place, detail=detail, mode=mode, now=now,
                             since=now - 2 * every)
        if recovered is not None and recovered.number == (state.number if state else 0):
            state = schedule.summary_state(incident_id)  # recomposed from what it posted
    view = compose(incident=incident, timeline=detail.timeline, state=state,
                   new=schedule.occurrences_since(incident_id, state.last_at if state
                                                  else EPOCH),
                   versions=tuple(sorted({c.version for c in detail.by_host_version
                                          if c.version})), now=now)
    edit_ts = state.message_ts if state is not None and mode == "edit" else None
    lease = None
    if replica is not None:
        lease = replica.claim(key)
        if lease is None:
            return None  # another replica is posting it, or it is posted
    # Claimed (and numbered) before it is posted: without replicas, a crash or a Slack outage
    # in between loses this one summary (the next reports from its slot on), never posts twice.
    if not schedule.claim_summary(key, previous=state.number if state else 0, at=now,
                                  state=SummaryState(
                                      incident_id=incident_id, number=view.number,
                                      last_at=now, message_ts=edit_ts,
                                      signature=incident.signature,
                                      occurrences=incident.occurrences, hosts=incident.hosts)):
        if lease is not None and replica is not None:
            replica.leases.release(lease)
        return None
    if lease is None or replica is None:
        ts = announcer.post_summary(place, view, mode=mode, edit_ts=edit_ts)
        schedule.set_posted(key, ts)
    else:
        with replica.heartbeat.held(lease):
            ts = announcer.post_summary(place, view, mode=mode, edit_ts=edit_ts, claim=key)
            with replica.fenced(lease):
                schedule.set_posted(key, ts)
            replica.leases.finish(lease)
    if mode == "edit" and ts != edit_ts:
        schedule.set_summary_ts(incident_id, ts)
    return view


def _recover(*, schedule: ScheduleStore, announcer: Announcer, replica: Replica, place: Place,
             detail: IncidentDetail, mode: SummaryMode, now: datetime,
             since: datetime) -> SummaryView | None:
    """The summary a dead replica claimed but never recorded as posted: found in Slack, or
    posted now with the number it was given. The last one recovered, if any."""
    recovered = None
    for key in schedule.unposted(detail.incident.id, kind="summary", since=since):
        state = schedule.summary_state(detail.incident.id)
        if state is None:
            return None
        view = replace(compose(incident=detail.incident, timeline=detail.timeline, state=None,
                               new=[], versions=(), now=now), number=state.number,
                       since=state.last_at)

        def record(ts: str, key: str = key) -> None:
            schedule.set_posted(key, ts)

        def post(claim: str, view: SummaryView = view) -> str:
            return announcer.post_summary(place, view, mode=mode, edit_ts=None, claim=claim)

        if post_once(replica=replica, key=key, record=record, post=post,
                     find=lambda claim: announcer.find_posted(place, claim, mode=mode)
                     ) is not None:
            log.info("summary %s of incident %s recovered after a takeover", view.number,
                     detail.incident.id)
            recovered = view
    return recovered


def compose(*, incident: Incident, timeline: tuple[TimelineEvent, ...],
            state: SummaryState | None, new: list[NewOccurrences], versions: tuple[str, ...],
            now: datetime) -> SummaryView:
    since = state.last_at if state else incident.opened_at
    known_hosts = set(state.hosts) if state else set()
    change = None
    if state is not None and state.signature != incident.signature and incident.signature:
        change = (state.signature, incident.signature)
    elif state is None and incident.signature and any(e.kind == "signature" for e in timeline):
        change = (None, incident.signature)
    actions = tuple(e for e in timeline
                    if e.kind.startswith(ACTION_KINDS) and since <= e.time <= now)
    crash_free = now - incident.last_seen if not new and now > incident.last_seen else None
    return SummaryView(
        incident=incident, number=(state.number if state else 0) + 1, since=since, now=now,
        new=tuple(new), new_hosts=tuple(h for h in incident.hosts if h not in known_hosts)
        if state else (), versions=versions, signature_change=change, actions=actions,
        crash_free=crash_free)


def summary_lines(view: SummaryView) -> list[str]:
    """The summary as plain lines (the adapter adds the Block Kit around them)."""
    incident = view.incident
    out = [f"*{view.new_count}* new crash(es) since {view.since:%H:%M} UTC "
           f"({incident.occurrences} in all, on {len(incident.hosts)} host(s))"]
    if view.new:
        out.append("By host: " + ", ".join(
            f"{escape(n.host)}{' (' + escape(n.version) + ')' if n.version else ''} ×{n.count}"
            for n in view.new[:12]))
    if view.new_hosts:
        out.append("Newly affected: " + ", ".join(view.new_hosts[:12]))
    if view.versions:
        out.append("Versions crashing: " + ", ".join(view.versions[:8]))
    if view.signature_change is not None:
        was, now = view.signature_change
        out.append(f"Signature: `{escape(now)}`"
                   + (f" (was `{escape(was)}`)" if was else " (learnt)"))
    for event in view.actions[-8:]:
        who = "" if event.actor == "segbot" or f"<@{event.actor}>" in event.text else (
            f" — <@{event.actor}>" if _USER.fullmatch(event.actor) else f" — {event.actor}")
        out.append(f"{event.time:%H:%M} {event.text}{who}")
    if view.crash_free is not None:
        out.append(f"Crash-free for {int(view.crash_free.total_seconds() // 60)} minutes "
                   f"(last crash {incident.last_seen:%H:%M} UTC)")
    return out
