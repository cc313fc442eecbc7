"""The incident's life in Slack: its channel, its one report message kept current from the
store and the live diagnoses (so a lost update is never lost information), and the diagnoses."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime

from bot.app.change_context import ChangeContext
from bot.app.claims import Lease, Replica, channel_key, diagnosis_key, report_key
from bot.app.diagnose import HostDiagnosis
from bot.app.diagnosis_feed import DiagnosisSetup, diagnose_live, evidence_text, focus_of
from bot.app.first_signal import NOTHING, first_post_wait, level
from bot.app.fleet import FLEET_OVER, FLEET_TABLE, progress_table
from bot.app.incidents import learn_signature, record_report
from bot.app.occurrences import record_found_crashes
from bot.app.ports.containment import ContainmentActions
from bot.app.ports.schedule import Announcer, ScheduleStore
from bot.app.ports.slack import ChannelRequest, Chat, Place, SlackStore
from bot.app.ports.store import Store
from bot.app.proposals import ensure_buttons
from bot.app.report_updater import ReportUpdater
from bot.app.report_view import ReportBook, ReportView
from bot.app.slack_policy import SlackPolicy
from bot.domain.change_report import with_findings
from bot.domain.incident import DiagnosisRequest, Incident, Status, TimelineEvent
from bot.domain.mrkdwn import escape
from bot.domain.report_json import report_to_dict
from bot.errors import SegbotError, SlackError

log = logging.getLogger("segbot.slack.flows")


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SlackFlows:
    def __init__(self, *, store: Store, slack_store: SlackStore, chat: Chat,
                 announcer: Announcer, schedule: ScheduleStore, actions: ContainmentActions,
                 policy: SlackPolicy, diagnosis: DiagnosisSetup | None,
                 changes: ChangeContext | None, clock: Callable[[], datetime] = _utcnow,
                 max_diagnoses: int = 8, replica: Replica | None = None) -> None:
        self.store, self.slack_store, self.chat = store, slack_store, chat
        self.announcer, self.schedule, self.changes = announcer, schedule, changes
        self.actions, self.policy, self.diagnosis, self.clock = actions, policy, diagnosis, clock
        self.book = ReportBook()
        self.updater = ReportUpdater(self.publish, min_interval=policy.min_update_interval,
                                     global_interval=policy.global_update_interval)
        self._pool = ThreadPoolExecutor(max_workers=max_diagnoses,
                                        thread_name_prefix="segbot-diagnose")
        self._locks: dict[int, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._seen: dict[int, tuple[object, ...]] = {}
        self._signals: dict[int, str] = {}  # signal found before the channel was created
        self._invites: dict[int, tuple[str, ...]] = {}  # who to invite when the channel opens
        self._opened: dict[int, float] = {}  # incident -> when its channel opened (monotonic)
        self._named: set[int] = set()  # incidents whose channel has its signal
        self._shown: dict[int, int] = {}  # incident -> how much of the crash was shown
        # This process among replicas sharing the store (claims and leases); None: alone.
        self.replica = replica
        self._running: dict[int, int] = {}  # incident -> diagnoses running in this process
        # incident -> stored outputs the book holds (restored, or kept by this process)
        self._restored: dict[int, int] = {}
        self._queued: set[str] = set()  # taken-over diagnoses waiting in the pool
        self._posting: set[str] = set()  # reports posted here and not yet recorded

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        if self.replica is not None:
            self.replica.heartbeat.start()
        self.updater.start()

    def stop(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.updater.stop()
        if self.replica is not None:
            self.replica.heartbeat.stop()

    # -- the incident's place in Slack -------------------------------------------------

    def incident(self, incident_id: int) -> Incident | None:
        detail = self.store.incident_detail(incident_id)
        return None if detail is None else detail.incident

    def ensure_place(self, incident_id: int, *, invite: tuple[str, ...] = ()) -> Place:
        """The incident's channel, created (and the on-call group invited) the first time."""
        with self._lock(incident_id):
            place = self.slack_store.place(incident_id)
            if place is not None:
                if invite and place.dedicated:
                    self.chat.invite(place, invite)
                return place
            incident = self.incident(incident_id)
            if incident is None:
                from bot.errors import NotFound

                raise NotFound(f"no incident {incident_id}")
            lease = self._claim_channel(incident_id)
            with self._locks_guard:
                invite = tuple(sorted({*invite, *self._invites.pop(incident_id, ())}))
            signal = ((incident.signature or "").split(" ", 1)[0]
                      or self._signals.pop(incident_id, "") or None)
            topic = (f"Incident #{incident.id}: {incident.service} crashing"
                     f"{' (' + incident.signature + ')' if incident.signature else ''}"
                     " | segbot keeps the report pinned at the top")
            request = ChannelRequest(
                incident_id=incident.id, service=incident.service, signal=signal,
                opened_at=incident.opened_at, invite=invite, topic=topic[:250],
                adopt=lease.note if lease is not None and lease.taken_over else None)
            now = self.clock()
            try:
                if lease is None or self.replica is None:
                    place = self.chat.open_place(request)
                    added = self.slack_store.add_place(place, now)
                else:
                    replica = self.replica
                    with replica.heartbeat.held(lease):
                        place = self.chat.open_place(
                            request, lambda name: replica.leases.note(lease, name))
                        with replica.fenced(lease):
                            added = self.slack_store.add_place(place, now)
                        replica.leases.finish(lease)
            except BaseException:
                if lease is not None and self.replica is not None:
                    self.replica.leases.release(lease)
                raise
            if not added:
                return self.slack_store.place(incident_id) or place
            self._opened[incident.id] = time.monotonic()
            if signal is not None:
                self._named.add(incident.id)  # named after its signal already
            self._event(incident.id, "slack", f"incident channel <#{place.channel}>", now)
        self.updater.touch(incident_id)
        return place

    def _claim_channel(self, incident_id: int) -> Lease | None:
        """With replicas: the claim on creating the incident's channel (None without)."""
        if self.replica is None:
            return None
        lease = self.replica.claim(channel_key(incident_id))
        if lease is None:
            raise SlackError(f"incident {incident_id}: another replica is opening its channel")
        return lease

    def touch(self, incident_id: int) -> None:
        """The incident's state moved: publish its report soon."""
        self.updater.touch(incident_id)

    def invite_when_opened(self, incident_id: int, users: tuple[str, ...]) -> None:
        """Invite `users` with the on-call group when the incident's channel is created."""
        with self._locks_guard:
            self._invites[incident_id] = (*self._invites.get(incident_id, ()), *users)

    # -- the report message ------------------------------------------------------------

    def publish(self, incident_id: int) -> bool:
        """Post or update the incident's report as it stands now (the updater calls this);
        False when the first post is held back for the diagnosis's first result."""
        incident = self.incident(incident_id)
        if incident is None:
            return False
        lease = None
        if self.replica is not None:
            # One replica edits an incident's report; the others only write the store.
            lease = self.replica.claim(report_key(incident_id))
            if lease is None:
                return True
            self.replica.heartbeat.hold(lease)
        place = self.slack_store.place(incident_id) or self.ensure_place(incident_id)
        if not self.book.known(incident_id):
            self._restore(incident)
        elif self.replica is not None and not self._running.get(incident_id):
            self._restore(incident, only_if_moved=True)  # diagnosed on other replicas
        report, host, progress, files = self.book.snapshot(incident_id)
        opened = self._opened.get(incident_id)
        if place.report_ts is None and (left := first_post_wait(
                incident=incident, report=report, progress=progress,
                diagnosing=self.diagnosis is not None, wait=self.policy.first_post_wait,
                waited=None if opened is None else time.monotonic() - opened)) > 0:
            self.updater.touch_later(incident_id, left)
            return False
        findings = self.changes.findings(incident, report, self.clock()) if self.changes else None
        if findings is not None and report is not None:
            report = with_findings(report, findings)  # change events join the log markers
        buttons, decisions = ensure_buttons(
            store=self.slack_store, actions=self.actions, incident=incident, report=report,
            report_host=host, now=self.clock(), ttl=self.policy.proposal_ttl,
            rules=self.policy.authorization)
        view = ReportView(incident=incident, report=report, report_host=host, hosts=progress,
                          buttons=buttons, decisions=decisions, files=files,
                          changes=findings.lines() if findings else ())
        if place.report_ts is None:
            self._post_report(place, view, lease)
        else:
            self.chat.update_report(place, view)
        self._seen[incident_id] = _fingerprint(incident)
        if incident.status is Status.RESOLVED and not self.book.pending_files(incident_id):
            self.book.forget(incident_id)  # its message is final; free the live state
            if lease is not None and self.replica is not None:
                self.replica.heartbeat.drop(lease.key)
        for name, title, content in self.book.pending_files(incident_id):
            self.chat.upload(self.slack_store.place(incident_id) or place, filename=name,
                             title=title, content=content)
            self.book.uploaded(incident_id, name)
            self.updater.touch(incident_id)  # the report names the file
        return True

    def _post_report(self, place: Place, view: ReportView, lease: Lease | None) -> None:
        """Post the report once: a replica taking the report over first looks for the one its
        predecessor may have posted before it died (tagged with the claim's metadata)."""
        if lease is None or self.replica is None:
            self.slack_store.set_report_ts(place.incident_id, self.chat.post_report(place, view))
            return
        # Also after this process posted but failed to record it (the store went away).
        search = lease.taken_over or lease.key in self._posting
        found = self.chat.find_report(place, lease.key) if search else None
        if found is None:
            self._posting.add(lease.key)
        ts = found or self.chat.post_report(place, view, claim=lease.key)
        with self.replica.fenced(lease):
            self.slack_store.set_report_ts(place.incident_id, ts)
        self._posting.discard(lease.key)
        if found is not None:  # what the dead replica posted, brought up to date
            self.chat.update_report(replace(place, report_ts=found), view)

    def changed(self, incident_id: int) -> None:
        """The live report moved: publish soon. Its first crash and first crash site skip the
        incident's interval; the first signal renames the channel after it."""
        report, _host, _progress, _files = self.book.snapshot(incident_id)
        shows = level(report)
        if shows <= self._shown.get(incident_id, NOTHING):
            self.updater.touch(incident_id)
            return
        self._shown[incident_id] = shows
        self.updater.touch(incident_id, urgent=True)
        crash = report.primary if report is not None else None
        if crash is not None and crash.signal:
            self._rename(incident_id, crash.signal)

    def _rename(self, incident_id: int, signal: str) -> None:
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
        incident = self.incident(incident_id)
        if incident is None or not place.dedicated:
            return
        try:
            name = self.chat.rename(place, ChannelRequest(
                incident_id=incident.id, service=incident.service, signal=signal,
                opened_at=incident.opened_at, invite=(), topic=""))
        except SegbotError as error:  # the channel keeps its name; the report is unaffected
            log.warning("incident %s: channel not renamed: %s", incident_id, error)
            return
        if name is not None:
            self._event(incident_id, "slack", f"channel renamed to #{escape(name)}",
                        self.clock())

    def poll(self) -> int:
        """Catch up: incidents whose stored state moved since their last publish (new
        occurrences from the alert intake, status changes) or whose report was never posted;
        with replicas, also the diagnoses a dead replica left unfinished."""
        touched = 0
        if self.replica is not None:
            self._take_over_diagnoses(self.replica)
        for place in self.slack_store.places():
            seen = self._seen.get(place.incident_id)
            if place.report_ts is not None and seen is not None and seen[1] is Status.RESOLVED:
                continue  # published as resolved: nothing more will change it
            incident = self.incident(place.incident_id)
            if incident is None:
                continue
            if place.report_ts is None or self._seen.get(incident.id) != _fingerprint(incident):
                self.updater.touch(incident.id)
                touched += 1
        return touched

    def _restore(self, incident: Incident, *, only_if_moved: bool = False) -> None:
        """After a restart: the decoded evidence from the stored outputs, so the report's
        next edit does not wipe what it showed (also what other replicas diagnosed)."""
        rows = self.slack_store.evidence(incident.id)
        with self._locks_guard:
            if only_if_moved and self._restored.get(incident.id, 0) == len(rows):
                return  # every stored output is one this process decoded live (symbolized)
            self._restored[incident.id] = len(rows)
        focus = {}
        for host in {row[0] for row in rows}:
            known = self.diagnosis is not None and host in self.policy.services.get(
                incident.service, ())
            focus[host] = (focus_of(self.diagnosis.inventory(host, incident.service))
                           if known and self.diagnosis is not None else None)
        self.book.restore(incident.id, rows, self.clock(), focus)

    def unit_state(self, incident_id: int, host: str, show: str) -> None:
        """An action changed the unit on `host` (re-read after it): the report shows that."""
        if self.book.unit_state(incident_id, host, show):
            self.updater.touch(incident_id)

    # -- diagnoses -----------------------------------------------------------------------

    def trigger(self, request: DiagnosisRequest) -> None:
        """The DiagnosisTrigger: open the channel and diagnose, in the background."""
        self._pool.submit(self._diagnose, request)

    def _take_over_diagnoses(self, replica: Replica) -> None:
        for request in replica.leases.orphaned_diagnoses(grace=replica.grace,
                                                         holder=replica.holder):
            key = diagnosis_key(request.incident_id, request.host)
            with self._locks_guard:
                if key in self._queued:
                    continue
                self._queued.add(key)
            log.info("incident %s: taking over the diagnosis of %s", request.incident_id,
                     request.host)
            self._pool.submit(self._diagnose, request)

    def _open_place(self, incident_id: int) -> None:
        try:
            self.ensure_place(incident_id)
        except Exception as error:  # Slack down: the poller and updater post it later
            log.warning("incident %s: no Slack channel yet: %s", incident_id, error)

    def _diagnose(self, request: DiagnosisRequest) -> None:
        """Diagnose one host once: with replicas, under the host's claim, which is renewed
        while it runs and finished with its results (a dead replica's is taken over)."""
        replica = self.replica
        if replica is None:
            self._diagnose_claimed(request, None)
            return
        key = diagnosis_key(request.incident_id, request.host, request.again)[:200]
        try:
            lease = replica.leases.claim(key, holder=replica.holder, ttl=replica.ttl)
            if lease is None:
                return  # another replica runs it, or it is done
            with replica.heartbeat.held(lease):
                self._diagnose_claimed(request, lease)
                replica.leases.finish(lease)
        except SegbotError as error:  # taken over, or the store is away: the sweep retries
            log.warning("diagnosis of %s for incident %s: %s", request.host,
                        request.incident_id, error)
        finally:
            with self._locks_guard:
                self._queued.discard(key)

    def _diagnose_claimed(self, request: DiagnosisRequest, lease: Lease | None) -> None:
        fenced = self.replica.fenced if self.replica is not None else None
        if self.diagnosis is None:
            self._open_place(request.incident_id)
            return
        # The channel opens while the host is reached: the first result waits for neither.
        self._pool.submit(self._open_place, request.incident_id)
        now = self.clock()
        if request.host not in self.policy.services.get(request.service, ()):
            # Only configured hosts of configured services are ever connected to.
            self._event(request.incident_id, "diagnosis", f"not diagnosing "
                        f"{escape(request.host)}: not a configured host of "
                        f"{escape(request.service)}", now)
            return
        self._event(request.incident_id, "diagnosis", f"diagnosing {escape(request.host)}", now)

        def keep(command: str, output: str) -> None:
            if lease is not None and self.replica is not None:
                self.replica.leases.check(lease)  # a taken-over run stops storing at once
            self.slack_store.add_evidence(request.incident_id, host=request.host,
                                          command=command, output=output, at=self.clock())
            with self._locks_guard:  # the book has it already: not a reason to rebuild
                self._restored[request.incident_id] = self._restored.get(
                    request.incident_id, 0) + 1

        with self._locks_guard:
            self._running[request.incident_id] = self._running.get(request.incident_id, 0) + 1
        try:
            diagnosis = diagnose_live(
                request=request, setup=self.diagnosis, book=self.book,
                changed=self.changed, now=self.clock, keep=keep)
        except SegbotError:
            raise  # taken over, or the store is away: not finished here
        except Exception:
            log.exception("diagnosis of %s for incident %s failed", request.host,
                          request.incident_id)
            return
        finally:
            with self._locks_guard:
                self._running[request.incident_id] -= 1
        with fenced(lease) if fenced is not None else _unfenced():
            self._record_diagnosis(request, diagnosis)

    def _record_diagnosis(self, request: DiagnosisRequest, diagnosis: HostDiagnosis) -> None:
        assert self.diagnosis is not None
        signature = diagnosis.report.signature if diagnosis.report else None
        text = f"diagnosis of {escape(request.host)} finished" + (
            f": {escape(signature)}" if signature else "") + (
            f" (stopped early: {diagnosis.error})" if diagnosis.error else "")
        now = self.clock()
        if diagnosis.report is not None:
            record_report(store=self.store, incident_id=request.incident_id,
                          host=request.host, now=now,
                          report_json=json.dumps(report_to_dict(diagnosis.report), default=str))
        if signature:
            learn_signature(store=self.store, incident_id=request.incident_id,
                            signature=signature, now=now)
            self._rename(request.incident_id, signature.split(" ", 1)[0])  # if not yet
        if diagnosis.report is not None:  # what happened on the host, not when we asked
            inventory = self.diagnosis.inventory(request.host, request.service)
            record_found_crashes(store=self.store, incident_id=request.incident_id,
                                 host=request.host, service=request.service,
                                 report=diagnosis.report, unit=inventory.unit,
                                 executable=inventory.binary, now=now)
        self._event(request.incident_id, "diagnosis", text, now)
        self.book.attach(request.incident_id, f"evidence-{request.host}.txt",
                         f"{request.host}: every playbook step and its output",
                         evidence_text(diagnosis))
        _, _, hosts, files = self.book.snapshot(request.incident_id)
        if len(hosts) > FLEET_OVER and all(h.finished for h in hosts) and FLEET_TABLE not in files:
            self.book.attach(request.incident_id, FLEET_TABLE, "every host's diagnosis",
                             progress_table(hosts))
        self.updater.touch(request.incident_id)

    # -- helpers ---------------------------------------------------------------------------

    def _event(self, incident_id: int, kind: str, text: str, at: datetime,
               actor: str = "segbot") -> None:
        with self.store.transaction() as tx:
            tx.add_event(incident_id, TimelineEvent(at, kind, text, actor=actor, source="slack"))

    def _lock(self, incident_id: int) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(incident_id, threading.Lock())


@contextmanager
def _unfenced() -> Iterator[None]:
    yield


def _fingerprint(incident: Incident) -> tuple[object, ...]:
    return (incident.occurrences, incident.status, incident.hosts, incident.signature,
            incident.commander)
