"""The incident's channel: created once (claimed across replicas), with the people to invite
and the first signal in its name; renamed after the signal when that comes later."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from bot.app.claims import Lease
from bot.app.ports.slack import ChannelRequest, Chat, Place, SlackStore
from bot.app.ports.store import Store
from bot.app.replica_work import ReplicaWork
from bot.domain.incident import Incident, TimelineEvent
from bot.domain.mrkdwn import escape
from bot.errors import NotFound, SegbotError

log = logging.getLogger("segbot.slack.flows")


class IncidentChannels:
    def __init__(self, *, store: Store, slack_store: SlackStore, chat: Chat,
                 clock: Callable[[], datetime], shared: ReplicaWork | None) -> None:
        self.store, self.slack_store, self.chat = store, slack_store, chat
        self.clock, self.shared = clock, shared
        self._locks: dict[int, threading.Lock] = {}
        self._guard = threading.Lock()
        self._signals: dict[int, str] = {}  # signal found before the channel was created
        self._invites: dict[int, tuple[str, ...]] = {}  # who to invite when the channel opens
        self._opened: dict[int, float] = {}  # incident -> when its channel opened (monotonic)
        self._named: set[int] = set()  # incidents whose channel has its signal

    def opened(self, incident_id: int) -> float | None:
        """When this process opened the incident's channel (monotonic), if it did."""
        return self._opened.get(incident_id)

    def invite_when_opened(self, incident_id: int, users: tuple[str, ...]) -> None:
        with self._guard:
            self._invites[incident_id] = (*self._invites.get(incident_id, ()), *users)

    def ensure(self, incident_id: int, invite: tuple[str, ...]) -> tuple[Place, bool]:
        """The incident's channel, and whether this call created it."""
        with self._lock(incident_id):
            place = self.slack_store.place(incident_id)
            if place is not None:
                if invite and place.dedicated:
                    self.chat.invite(place, invite)
                return place, False
            incident = self._incident(incident_id)
            if incident is None:
                raise NotFound(f"no incident {incident_id}")
            named: list[str | None] = []
            adopting: list[bool] = []

            def request(lease: Lease | None) -> ChannelRequest:
                """Built once the channel is claimed (with replicas); a taken-over claim
                adopts the channel its dead holder created."""
                with self._guard:
                    invited = tuple(sorted({*invite, *self._invites.pop(incident_id, ())}))
                named.append((incident.signature or "").split(" ", 1)[0]
                             or self._signals.pop(incident_id, "") or None)
                adopting.append(lease is not None and lease.taken_over and bool(lease.note))
                topic = (f"Incident #{incident.id}: {incident.service} crashing"
                         f"{' (' + incident.signature + ')' if incident.signature else ''}"
                         " | segbot keeps the report pinned at the top")
                return ChannelRequest(
                    incident_id=incident.id, service=incident.service, signal=named[-1],
                    opened_at=incident.opened_at, invite=invited, topic=topic[:250],
                    adopt=lease.note if lease is not None and lease.taken_over else None)

            now = self.clock()
            if self.shared is not None:
                place, added = self.shared.open_channel(incident_id, request, now)
            else:
                place = self.chat.open_place(request(None))
                added = self.slack_store.add_place(place, now)
            if not added:  # another replica (or thread) recorded it: invite as for any channel
                found = self.slack_store.place(incident_id) or place
                if invite and found.dedicated:
                    self.chat.invite(found, invite)
                return found, False
            self._opened[incident.id] = time.monotonic()
            signal = named[-1]
            if signal is not None:
                self._named.add(incident.id)  # named after its signal already
            self._event(incident.id, f"incident channel <#{place.channel}>", now)
        if signal is not None and adopting[-1]:
            # Adopted under the name its dead holder gave it, maybe before the signal was
            # known ("-crash"): renamed as a channel created here would have been named.
            self._rename(incident, place, signal)
        return place, True

    def rename(self, incident_id: int, signal: str) -> None:
        """Name the channel after `signal`, once; before the channel exists, it is created
        with that name instead (the incident's lock orders the two)."""
        with self._lock(incident_id):
            if incident_id in self._named:
                return
            place = self.slack_store.place(incident_id)
            if place is None:
                self._signals[incident_id] = signal
                return
            self._named.add(incident_id)
        incident = self._incident(incident_id)
        if incident is not None:
            self._rename(incident, place, signal)

    def _rename(self, incident: Incident, place: Place, signal: str) -> None:
        if not place.dedicated:
            return
        incident_id = incident.id
        try:
            name = self.chat.rename(place, ChannelRequest(
                incident_id=incident.id, service=incident.service, signal=signal,
                opened_at=incident.opened_at, invite=(), topic=""))
        except SegbotError as error:  # the channel keeps its name; the report is unaffected
            log.warning("incident %s: channel not renamed: %s", incident_id, error)
            return
        if name is not None:
            self._event(incident_id, f"channel renamed to #{escape(name)}", self.clock())

    def _incident(self, incident_id: int) -> Incident | None:
        detail = self.store.incident_detail(incident_id)
        return None if detail is None else detail.incident

    def _event(self, incident_id: int, text: str, at: datetime) -> None:
        with self.store.transaction() as tx:
            tx.add_event(incident_id, TimelineEvent(at, "slack", text, actor="segbot",
                                                    source="slack"))

    def _lock(self, incident_id: int) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(incident_id, threading.Lock())
