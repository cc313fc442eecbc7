"""The scheduler inside `segbot serve` (APScheduler 3): summaries, reminders, the daily digest
and the sync job that derives them from the store. No job is persisted: each has a fixed id and
is recreated from the incidents, and posts are claimed in the store first, so none posts twice."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.app.claims import Replica
from bot.app.digest import run_digest
from bot.app.ports.schedule import Announcer, Leadership, ScheduleStore
from bot.app.ports.slack import SlackStore
from bot.app.ports.store import Store
from bot.app.reminders import ReminderPolicy, run_reminders
from bot.app.summaries import run_summary
from bot.config import Schedule
from bot.domain.incident import Incident, is_open

log = logging.getLogger("segbot.schedule")
ANCHOR = datetime(2020, 1, 1, tzinfo=UTC)  # interval jobs fire on the same grid everywhere


@dataclass(frozen=True)
class JobSpec:
    id: str
    func: Callable[[], Any]
    trigger: Any
    misfire_grace_time: int
    signature: tuple[object, ...]  # what the job was made from: changed -> job replaced


class DrivenScheduler(BaseScheduler):  # type: ignore[misc]
    """APScheduler with no thread of its own: `tick()` runs whatever is due (a driven clock in
    tests and demos; triggers, coalescing and misfire grace are APScheduler's own)."""

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait)

    def wakeup(self) -> None:
        pass

    def tick(self) -> None:
        self._process_jobs()


@dataclass
class ScheduleDeps:
    store: Store
    schedule: ScheduleStore
    slack: SlackStore
    announcer: Announcer
    clock: Callable[[], datetime]
    verify: Callable[[], object] | None = None  # containment's verify_due
    history: Callable[[Incident], str | None] | None = None  # a signature's change history
    replica: Replica | None = None  # leases shared with other replicas: posts exactly once


class SegbotScheduler:
    def __init__(self, *, deps: ScheduleDeps, options: Schedule, leadership: Leadership,
                 scheduler: BaseScheduler | None = None) -> None:
        self.deps, self.options, self.leadership = deps, options, leadership
        self.scheduler = scheduler or BackgroundScheduler(
            timezone=UTC, executors={"default": ThreadPoolExecutor(max_workers=2)})
        self.leader = False
        # APScheduler logs every run at INFO; ours log what they did (or failed to).
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        self._specs: dict[str, tuple[object, ...]] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.posted = 0

    # -- lifecycle ---------------------------------------------------------------------

    def start(self, *, background: bool = True) -> None:
        self.scheduler.start(paused=True)
        if background:
            self._thread = threading.Thread(target=self._lead, name="segbot-scheduler-leader",
                                            daemon=True)
            self._thread.start()
        else:
            self.take_lead()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        with self._lock:
            if self.scheduler.running:
                self.scheduler.shutdown(wait=True)
            if self.leader:
                self.leadership.release()
                self.leader = False

    def _lead(self) -> None:
        while not self._stop.is_set():
            try:
                if not self.leader:
                    self.take_lead()
                elif not self.leadership.alive():
                    self.step_down()
            except Exception as error:  # the store is away: try again next round
                log.warning("scheduler leadership round failed: %s", error)
            self._stop.wait(self.options.leader_seconds)

    def take_lead(self) -> bool:
        with self._lock:
            if self.leader or not self.leadership.acquire():
                return self.leader
            try:
                self.sync()
            except Exception as error:  # the store is away: the sync job retries it
                log.warning("scheduler: jobs not derived from the store yet: %s", error)
                self._add(self._sync_spec())
            self.scheduler.resume()
            self.leader = True  # (only now: a leader always has its jobs)
            log.info("scheduler: this process runs the scheduled jobs")
            return True

    def step_down(self) -> None:
        with self._lock:
            self.scheduler.pause()
            for job in self.scheduler.get_jobs():
                job.remove()
            self._specs.clear()
            self.leadership.release()
            self.leader = False
            log.warning("scheduler: leadership lost; jobs stopped here")

    # -- jobs derived from the store ---------------------------------------------------

    def job_ids(self) -> list[str]:
        return sorted(job.id for job in self.scheduler.get_jobs())

    def sync(self) -> None:
        """Make the scheduler's jobs exactly those the store calls for."""
        with self._lock:
            wanted = {spec.id: spec for spec in self.desired()}
            for job_id in list(self._specs):
                if job_id not in wanted:
                    self.scheduler.remove_job(job_id)
                    del self._specs[job_id]
            for spec in wanted.values():
                if self._specs.get(spec.id) == spec.signature:
                    continue  # unchanged: keep its next run time
                self._add(spec)

    def _add(self, spec: JobSpec) -> None:
        self.scheduler.add_job(
            spec.func, trigger=spec.trigger, id=spec.id, name=spec.id, replace_existing=True,
            coalesce=True, max_instances=1, misfire_grace_time=spec.misfire_grace_time)
        self._specs[spec.id] = spec.signature

    def _sync_spec(self) -> JobSpec:
        seconds = self.options.sync_seconds
        return JobSpec("sync", self.sync, IntervalTrigger(seconds=seconds, start_date=ANCHOR,
                                                          timezone=UTC),
                       max(1, int(seconds)), (seconds,))

    def desired(self) -> list[JobSpec]:
        o = self.options
        every = timedelta(minutes=o.summary_minutes)
        check = timedelta(minutes=o.reminder_check_minutes)
        specs = [
            self._sync_spec(),
            JobSpec("reminders", self._guard("reminders", self.reminders),
                    IntervalTrigger(seconds=check.total_seconds(), start_date=ANCHOR,
                                    timezone=UTC),
                    max(1, int(check.total_seconds())), (check,)),
        ]
        if self.deps.verify is not None:  # actions' verifications, when they fall due
            specs.append(JobSpec("verify-actions", self._guard("verify-actions",
                                                               self.deps.verify),
                                 IntervalTrigger(seconds=o.verify_seconds, start_date=ANCHOR,
                                                 timezone=UTC),
                                 max(1, int(o.verify_seconds)), (o.verify_seconds,)))
        hour, minute = (int(x) for x in o.digest_time.split(":"))
        for channel in o.digest_channels:
            specs.append(JobSpec(
                f"digest:{channel}", self._guard(f"digest:{channel}", self.digest, channel),
                CronTrigger(hour=hour, minute=minute, timezone=UTC), 3600, (hour, minute)))
        open_places = {p.incident_id for p in self.deps.slack.places()}
        for incident in self.deps.store.list_incidents(limit=500):
            if incident.id in open_places and is_open(incident.status):
                start = incident.opened_at + every
                specs.append(JobSpec(
                    f"summary:{incident.id}",
                    self._guard(f"summary:{incident.id}", self.summary, incident.id),
                    IntervalTrigger(seconds=every.total_seconds(), start_date=start,
                                    timezone=UTC),
                    max(1, int(every.total_seconds())), (incident.opened_at, every)))
        return specs

    # -- the jobs ----------------------------------------------------------------------

    def summary(self, incident_id: int) -> None:
        d = self.deps
        view = run_summary(store=d.store, schedule=d.schedule, slack=d.slack,
                           announcer=d.announcer, incident_id=incident_id,
                           every=timedelta(minutes=self.options.summary_minutes),
                           mode=self.options.summary_mode, now=d.clock(),
                           replica=d.replica)
        if view is not None:
            self.posted += 1
            log.info("summary %s of incident %s posted", view.number, incident_id)

    def reminders(self) -> None:
        d, o = self.deps, self.options
        policy = ReminderPolicy(quiet_after=timedelta(minutes=o.quiet_minutes),
                                dropin_after=timedelta(minutes=o.dropin_reminder_minutes),
                                dropin_repeat=timedelta(hours=o.dropin_repeat_hours))
        self.posted += len(run_reminders(store=d.store, schedule=d.schedule, slack=d.slack,
                                         announcer=d.announcer, policy=policy, now=d.clock(),
                                         replica=d.replica))

    def digest(self, channel: str) -> None:
        d = self.deps
        if run_digest(store=d.store, schedule=d.schedule, announcer=d.announcer,
                      channel=channel, now=d.clock(), history=d.history) is not None:
            self.posted += 1

    def _guard(self, name: str, func: Callable[..., object], *args: Any) -> Callable[[], None]:
        """A job body that logs its failure instead of losing it in APScheduler's logger."""

        def run() -> None:
            try:
                func(*args)
            except Exception as error:  # Slack or the store is down: the next run catches up
                log.warning("scheduled job %s failed: %s", name, error)

        return run


__all__ = ["DrivenScheduler", "JobSpec", "ScheduleDeps", "SegbotScheduler"]
