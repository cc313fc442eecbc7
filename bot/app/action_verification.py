"""The follow-up check of a finished containment action: did the crashes stop? Counted from
the store's occurrences and, when configured, the new cores on the service's hosts."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from bot.app.occurrences import record_crash_events
from bot.app.ports.containment import ActionStore, Announce
from bot.app.ports.store import Store
from bot.domain.containment import describe
from bot.domain.host_crashes import CrashEvent
from bot.domain.incident import TimelineEvent
from bot.domain.verification import HostCount, verification_verdict
from bot.errors import SegbotError

log = logging.getLogger("segbot.actions")


def verify_action(*, action_id: str, now: datetime, actions: ActionStore, store: Store,
                  announce: Announce,
                  host_crashes: Callable[[str, datetime], Sequence[HostCount] | None]
                  | None = None,
                  ) -> str | None:
    """The follow-up check of one finished action: new occurrences of the incident's signature
    since the action (the store's, and new cores on the service's hosts when counted), said in
    the channel, on the timeline and in the audit log, once. None when there was nothing to do.
    """
    record = actions.get(action_id)
    if record is None or record.finished_at is None or record.verdict is not None:
        return None
    detail = store.incident_detail(record.incident_id)
    incident = detail.incident if detail else None
    seen = actions.occurrences(incident_id=record.incident_id,
                               signature=incident.signature if incident else None,
                               since=record.finished_at, until=now)
    on_hosts = (host_crashes(record.target.get("service", ""), record.finished_at)
                if host_crashes is not None else None)
    text = verification_verdict(action=record.action, stored=seen, hosts=on_hosts,
                                seconds=max(0.0, (now - record.finished_at).total_seconds()))
    for counted in on_hosts or ():  # the cores it read are the incident's crashes too
        events = [CrashEvent(c.time, c.pid, c.signal, ("coredump",)) for c in counted.cores
                  if c.time is not None]
        if events:
            record_crash_events(store=store, incident_id=record.incident_id,
                                host=counted.host, service=record.target.get("service", ""),
                                events=events, now=now, by="verification")
    if not actions.set_verdict(action_id, text):
        return None
    with store.transaction() as tx:
        tx.add_event(record.incident_id, TimelineEvent(now, "verification", text,
                                                       actor="segbot", source="actions"))
        tx.audit(at=now, actor="segbot", action="verify",
                 subject=f"incident:{record.incident_id}",
                 detail=f"action {action_id[:8]} ({record.action}): {text}")
    try:
        announce(record.incident_id, f"Verification of {describe(record.action, record.target)}"
                                     f": {text}.")
    except SegbotError as error:
        log.warning("incident %s: verification not told in Slack: %s", record.incident_id,
                    error)
    return text
