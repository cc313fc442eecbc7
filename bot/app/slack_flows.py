"""The incident's life in Slack: its one report message kept current from the store and the
live diagnoses (so a lost update is never lost information), and the diagnoses. Its channel is
bot.app.incident_channel's; the work shared with other replicas, bot.app.replica_work's."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta

from bot.app.change_context import ChangeContext
from bot.app.claims import Lease, Replica
from bot.app.diagnosis_feed import DiagnosisSetup, diagnose_live
from bot.app.first_signal import NOTHING, first_post_wait, level
from bot.app.incident_channel import IncidentChannels
from bot.app.incident_evidence import record_diagnosis, stored_evidence
from bot.app.ports.containment import ContainmentActions
from bot.app.ports.schedule import Announcer, ScheduleStore
from bot.app.ports.slack import Chat, Place, SlackStore
from bot.app.ports.store import Store
from bot.app.proposals import ensure_buttons, label, settle_stuck
from bot.app.replica_work import ReplicaWork
from bot.app.report_updater import ReportUpdater
from bot.app.report_view import ReportBook, ReportView
from bot.app.slack_policy import SlackPolicy
from bot.domain.change_report import with_findings
from bot.domain.incident import DiagnosisRequest, Incident, Status, TimelineEvent
from bot.domain.mrkdwn import escape
from bot.errors import SegbotError

log = logging.getLogger("segbot.slack.flows")
UNSTARTED_GRACE = 30.0  # seconds a click may take from its claim to its action's intent


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
        self._locks_guard = threading.Lock()
        self._seen: dict[int, tuple[object, ...]] = {}
        self._shown: dict[int, int] = {}  # incident -> how much of the crash was shown
        # This process among replicas sharing the store (claims and leases); None: alone.
        self.replica = replica
        self._running: dict[int, int] = {}  # incident -> diagnoses running in this process
        # incident -> stored outputs the book holds (restored, or kept by this process)
        self._restored: dict[int, int] = {}
        self.shared = (None if replica is None
                       else ReplicaWork(replica=replica, chat=chat, slack_store=slack_store))
        self.channels = IncidentChannels(store=store, slack_store=slack_store, chat=chat,
                                         clock=lambda: self.clock(), shared=self.shared)

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        if self.shared is not None:
            self.shared.start()
        self.updater.start()

    def stop(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.updater.stop()
        if self.shared is not None:
            self.shared.stop()

    # -- the incident's place in Slack -------------------------------------------------

    def incident(self, incident_id: int) -> Incident | None:
        detail = self.store.incident_detail(incident_id)
        return None if detail is None else detail.incident

    def ensure_place(self, incident_id: int, *, invite: tuple[str, ...] = ()) -> Place:
        """The incident's channel, created (and the on-call group invited) the first time."""
        place, created = self.channels.ensure(incident_id, invite)
        if created:
            self.updater.touch(incident_id)
        return place

    def touch(self, incident_id: int) -> None:
        """The incident's state moved: publish its report soon."""
        self.updater.touch(incident_id)

    def invite_when_opened(self, incident_id: int, users: tuple[str, ...]) -> None:
        """Invite `users` with the on-call group when the incident's channel is created."""
        self.channels.invite_when_opened(incident_id, users)

    # -- the report message ------------------------------------------------------------

    def publish(self, incident_id: int) -> bool:
        """Post or update the incident's report as it stands now (the updater calls this);
        False when the first post is held back for the diagnosis's first result."""
        incident = self.incident(incident_id)
        if incident is None:
            return False
        lease = None
        if self.shared is not None:
            # One replica edits an incident's report; the others only write the store.
            lease = self.shared.report_lease(incident_id)
            if lease is None:
                return True
        place = self.slack_store.place(incident_id) or self.ensure_place(incident_id)
        if not self.book.known(incident_id):
            self._restore(incident)
        elif self.replica is not None and not self._running.get(incident_id):
            self._restore(incident, only_if_moved=True)  # diagnosed on other replicas
        report, host, progress, files = self.book.snapshot(incident_id)
        opened = self.channels.opened(incident_id)
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
        if place.report_ts is None and lease is not None and self.shared is not None:
            self.shared.post_report(place, view, lease)
        elif place.report_ts is None:
            self.slack_store.set_report_ts(place.incident_id, self.chat.post_report(place, view))
        else:
            self.chat.update_report(place, view)
        self._seen[incident_id] = _fingerprint(incident)
        if incident.status is Status.RESOLVED and not self.book.pending_files(incident_id):
            self.book.forget(incident_id)  # its message is final; free the live state
            if lease is not None and self.shared is not None:
                self.shared.let_go(lease)
        for name, title, content in self.book.pending_files(incident_id):
            self.chat.upload(self.slack_store.place(incident_id) or place, filename=name,
                             title=title, content=content)
            self.book.uploaded(incident_id, name)
            self.updater.touch(incident_id)  # the report names the file
        return True

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
            self.channels.rename(incident_id, crash.signal)

    def poll(self) -> int:
        """Catch up: incidents whose stored state moved since their last publish (new
        occurrences from the alert intake, status changes) or whose report was never posted;
        with replicas, also the diagnoses a dead replica left unfinished."""
        touched = 0
        if self.shared is not None:
            for request in self.shared.orphans():
                self._pool.submit(self._diagnose, request)
        grace = self.replica.grace if self.replica is not None else UNSTARTED_GRACE
        for lost in self.slack_store.reopen_unstarted(
                before=self.clock() - timedelta(seconds=grace)):
            what = label(lost.action, lost.target)
            self._event(lost.incident_id, "action", f"the click on {what} by "
                        f"<@{lost.decided_by}> was lost (segbot stopped before starting it): "
                        "the button is offered again", self.clock())
            self.updater.touch(lost.incident_id)
        for incident_id in settle_stuck(store=self.slack_store, now=self.clock(),
                                        before=self.clock() - timedelta(seconds=grace)):
            self.updater.touch(incident_id)  # the button says what became of its action
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
        stored = stored_evidence(store=self.store, setup=self.diagnosis, incident=incident,
                                 services=self.policy.services, outputs=rows)
        self.book.restore(incident.id, stored.outputs, self.clock(), stored.focus,
                          stored.reports)

    def unit_state(self, incident_id: int, host: str, show: str) -> None:
        """An action changed the unit on `host` (re-read after it): the report shows that."""
        if self.book.unit_state(incident_id, host, show):
            self.updater.touch(incident_id)

    # -- diagnoses -----------------------------------------------------------------------

    def trigger(self, request: DiagnosisRequest) -> None:
        """The DiagnosisTrigger: open the channel and diagnose, in the background. A re-run a
        person asked for is claimed before this returns: its lease is its only record, so a
        replica dying before or while running it leaves it to be taken over."""
        lease = None
        if request.again and self.shared is not None:
            lease = self.shared.claim_rerun(request)
            if lease is None:
                return  # asked twice: another replica runs it, or it is done
        self._pool.submit(self._diagnose, request, lease)

    def _open_place(self, incident_id: int) -> None:
        try:
            self.ensure_place(incident_id)
        except Exception as error:  # Slack down: the poller and updater post it later
            log.warning("incident %s: no Slack channel yet: %s", incident_id, error)

    def _diagnose(self, request: DiagnosisRequest, claimed: Lease | None = None) -> None:
        """Diagnose one host once: with replicas, under the host's claim (`claimed` already),
        renewed while it runs and finished with its results (a dead replica's is taken over)."""
        if self.shared is None:
            self._diagnose_claimed(request, None)
        else:
            self.shared.diagnose(request, claimed,
                                 lambda lease: self._diagnose_claimed(request, lease))

    def _diagnose_claimed(self, request: DiagnosisRequest, lease: Lease | None) -> None:
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
            if lease is not None and self.shared is not None:
                self.shared.check(lease)  # a taken-over run stops storing at once
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
        # Recorded and finished as one: a replica dying between the two would leave the
        # diagnosis to be run and recorded a second time.
        with (self.replica.fenced(lease, finish=True) if self.replica is not None
              else nullcontext()):
            signature = record_diagnosis(store=self.store, setup=self.diagnosis, book=self.book,
                                         request=request, diagnosis=diagnosis, now=self.clock())
        if signature:
            self.channels.rename(request.incident_id, signature.split(" ", 1)[0])  # if not yet
        self.updater.touch(request.incident_id)

    # -- helpers ---------------------------------------------------------------------------

    def _event(self, incident_id: int, kind: str, text: str, at: datetime,
               actor: str = "segbot") -> None:
        with self.store.transaction() as tx:
            tx.add_event(incident_id, TimelineEvent(at, kind, text, actor=actor, source="slack"))


def _fingerprint(incident: Incident) -> tuple[object, ...]:
    return (incident.occurrences, incident.status, incident.hosts, incident.signature,
            incident.commander)
