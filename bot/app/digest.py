"""The daily digest per configured channel: new, regressed and top signatures of the last day,
and the incidents still open. Claimed per channel and day: posted once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.app.ports.schedule import Announcer, ScheduleStore
from bot.app.ports.store import Store
from bot.domain.incident import Incident, is_open


@dataclass(frozen=True)
class DigestView:
    day_end: datetime
    new: tuple[Incident, ...]  # opened in the last day
    regressed: tuple[Incident, ...]  # new, with the signature of an earlier resolved incident
    top: tuple[tuple[str, int], ...]  # (signature, occurrences) of incidents seen that day
    open: tuple[Incident, ...]
    history: tuple[tuple[int, str], ...] = ()  # new incident id -> its signature's history


def compose_digest(incidents: list[Incident], *, now: datetime,
                   window: timedelta = timedelta(days=1)) -> DigestView:
    start = now - window
    new = [i for i in incidents if i.opened_at >= start]
    earlier = {i.signature for i in incidents if i.signature and i.opened_at < start
               and not is_open(i.status)}
    regressed = [i for i in new if i.signature in earlier]
    top: Counter[str] = Counter()
    for incident in incidents:
        if incident.last_seen >= start:
            top[incident.signature or f"{incident.service} (signature unknown)"] += \
                incident.occurrences
    return DigestView(day_end=now, new=tuple(sorted(new, key=lambda i: i.id)),
                      regressed=tuple(sorted(regressed, key=lambda i: i.id)),
                      top=tuple(top.most_common(5)),
                      open=tuple(sorted((i for i in incidents if is_open(i.status)),
                                        key=lambda i: i.id)))


def run_digest(*, store: Store, schedule: ScheduleStore, announcer: Announcer, channel: str,
               now: datetime, history: Callable[[Incident], str | None] | None = None,
               ) -> DigestView | None:
    key = f"digest:{channel}:{now:%Y-%m-%d}"
    if not schedule.claim(key, kind="digest", incident_id=None, at=now):
        return None
    view = compose_digest(store.list_incidents(limit=500), now=now)
    if history is not None:  # change history: "new in 2.18.7" / "seen before in 2.17.9"
        told = ((i.id, history(i)) for i in view.new)
        view = replace(view, history=tuple((n, text) for n, text in told if text))
    schedule.set_posted(key, announcer.post_digest(channel, view))
    return view
