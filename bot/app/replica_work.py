"""The Slack flows' work shared among replicas, each piece claimed with a fenced lease: the
incident's channel, its report (posted once, found by its metadata after a crash, edited by
one replica), each host's diagnosis and each re-run a person asked for; and the sweep that
takes over the diagnoses a dead replica left."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from bot.app.claims import Lease, Replica, channel_key, diagnosis_key, report_key
from bot.app.ports.slack import ChannelRequest, Chat, Place, SlackStore
from bot.app.report_view import ReportView
from bot.domain.incident import DiagnosisRequest
from bot.errors import SegbotError, SlackError

log = logging.getLogger("segbot.slack.replicas")
CHANNEL_WAIT = 30.0  # seconds beyond the claim's life to wait for another replica's channel


def work_key(request: DiagnosisRequest) -> str:
    return diagnosis_key(request.incident_id, request.host, request.again)[:200]


class ReplicaWork:
    def __init__(self, *, replica: Replica, chat: Chat, slack_store: SlackStore) -> None:
        self.replica, self.chat, self.slack_store = replica, chat, slack_store
        self._guard = threading.Lock()
        self._queued: set[str] = set()  # taken-over diagnoses waiting in the pool
        self._posting: set[str] = set()  # reports posted here and not yet recorded

    def start(self) -> None:
        self.replica.heartbeat.start()

    def stop(self) -> None:
        self.replica.heartbeat.stop()

    # -- the channel and the report ---------------------------------------------------------

    def open_channel(self, incident_id: int, request: Callable[[Lease], ChannelRequest],
                     now: datetime) -> tuple[Place, bool]:
        """Create the incident's channel under its claim (a taken-over claim adopts the
        channel its dead holder named in the lease's note); (place, newly recorded)."""
        replica = self.replica
        # Another replica opening it: wait for its channel, or for its claim to lapse (it died)
        # and take the work over; a person's /segfault then joins instead of failing.
        deadline = time.monotonic() + 2 * replica.ttl + CHANNEL_WAIT
        while (lease := replica.claim(channel_key(incident_id))) is None:
            place = self.slack_store.place(incident_id)
            if place is not None:
                return place, False
            if time.monotonic() > deadline:
                raise SlackError(f"incident {incident_id}: another replica is opening its "
                                 "channel and has not finished")
            time.sleep(0.2)
        try:
            with replica.heartbeat.held(lease):
                place = self.chat.open_place(request(lease),
                                             lambda name: replica.leases.note(lease, name))
                with replica.fenced(lease):
                    added = self.slack_store.add_place(place, now)
                replica.leases.finish(lease)
        except BaseException:
            replica.leases.release(lease)
            raise
        return place, added

    def report_lease(self, incident_id: int) -> Lease | None:
        """The claim on editing the incident's report, renewed from now on; None while
        another replica edits it (this one only writes the store)."""
        lease = self.replica.claim(report_key(incident_id))
        if lease is not None:
            self.replica.heartbeat.hold(lease)
        return lease

    def let_go(self, lease: Lease) -> None:
        """The report is final (resolved): stop renewing its claim."""
        self.replica.heartbeat.drop(lease.key)

    def post_report(self, place: Place, view: ReportView, lease: Lease) -> None:
        """Post the report once: a replica taking the report over first looks for the one its
        predecessor may have posted before it died (tagged with the claim's metadata)."""
        # Also after this process posted but failed to record it (the store went away).
        search = lease.taken_over or lease.key in self._posting
        # Fenced from before the post to its record: a holder whose lease lapsed while it
        # was slow must not post after another replica took over and looked for its post.
        with self.replica.fenced(lease):
            found = self.chat.find_report(place, lease.key) if search else None
            if found is None:
                self._posting.add(lease.key)
            ts = found or self.chat.post_report(place, view, claim=lease.key)
            self.slack_store.set_report_ts(place.incident_id, ts)
        self._posting.discard(lease.key)
        if found is not None:  # what the dead replica posted, brought up to date
            self.chat.update_report(replace(place, report_ts=found), view)

    # -- diagnoses ----------------------------------------------------------------------------

    def claim_rerun(self, request: DiagnosisRequest) -> Lease | None:
        """A re-run a person asked for, claimed at once: its lease is its only record, so a
        replica dying before or while running it leaves it to be taken over. None: asked
        twice, and another replica runs it or it is done."""
        replica = self.replica
        lease = replica.leases.claim(work_key(request), holder=replica.holder, ttl=replica.ttl)
        if lease is not None:
            replica.heartbeat.hold(lease)
        return lease

    def orphans(self) -> list[DiagnosisRequest]:
        """Diagnoses and re-runs a dead replica left unfinished, each handed out once."""
        replica, found = self.replica, []
        for request in replica.leases.orphaned_diagnoses(grace=replica.grace,
                                                         holder=replica.holder):
            key = work_key(request)
            with self._guard:
                if key in self._queued:
                    continue
                self._queued.add(key)
            log.info("incident %s: taking over the diagnosis of %s", request.incident_id,
                     request.host)
            found.append(request)
        return found

    def diagnose(self, request: DiagnosisRequest, claimed: Lease | None,
                 run: Callable[[Lease], None]) -> None:
        """`run` the diagnosis under its claim (`claimed` already, or claimed now), renewed
        while it runs and finished after; nothing when another replica has it or it is done."""
        replica, key = self.replica, work_key(request)
        try:
            lease = claimed or replica.leases.claim(key, holder=replica.holder, ttl=replica.ttl)
            if lease is None:
                return
            with replica.heartbeat.held(lease):
                run(lease)
                replica.leases.finish(lease)
        except SegbotError as error:  # taken over, or the store is away: the sweep retries
            log.warning("diagnosis of %s for incident %s: %s", request.host,
                        request.incident_id, error)
        finally:
            with self._guard:
                self._queued.discard(key)

    def check(self, lease: Lease) -> None:
        """Raise StaleLease once the work was taken over: a late holder stops storing."""
        self.replica.leases.check(lease)
