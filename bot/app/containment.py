"""Containment actions, at most once: intent written first (compare-and-set on the action id),
then executed (the id is the Idempotency-Key), then the outcome; then verified."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.app.action_verification import verify_action
from bot.app.claims import Lease, Replica, action_key
from bot.app.ports.containment import (
    ActionRequest,
    ActionResult,
    ActionStore,
    Announce,
    Executor,
)
from bot.app.ports.store import Store
from bot.domain.containment import (
    ActionRecord,
    Outcome,
    describe,
    how_to_check,
    unsafe_targets,
)
from bot.domain.incident import TimelineEvent
from bot.domain.mrkdwn import escape
from bot.domain.redact import redact
from bot.errors import SegbotError

log = logging.getLogger("segbot.actions")
APPROVAL_TTL = timedelta(hours=1)
VERIFIED = frozenset({"rollback", "disable_flag", "restart_delay"})  # followed by a check




@dataclass
class Containment:
    """The ContainmentActions port: what the buttons call."""

    actions: ActionStore
    store: Store
    executor: Executor
    announce: Announce
    clock: Callable[[], datetime]
    preview_wait: float = 3.0
    # Shared with other replicas: each verification is leased to one of them at a time.
    replica: Replica | None = None
    _previews: dict[tuple[str, str], tuple[datetime, str]] = field(default_factory=dict)
    _looking: dict[tuple[str, str], Future[str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(
        max_workers=2, thread_name_prefix="segbot-preview"))

    def configured(self, action: str, target: Mapping[str, str]) -> bool:
        return self.executor.configured(target.get("service", ""), action)

    def preview(self, action: str, target: Mapping[str, str]) -> str | None:
        """What the confirm dialog shows: the action and the current state it changes. Cached
        for a minute; a look slower than `preview_wait` seconds finishes in the background
        (the next report update shows it) so the report is never held up by a slow host."""
        key = (action, repr(sorted(target.items())))
        now = self.clock()
        with self._lock:
            cached = self._previews.get(key)
            if cached is not None and now - cached[0] < timedelta(minutes=1):
                return cached[1]
            pending = self._looking.get(key)
            if pending is None:
                pending = self._pool.submit(self._look, key, action, dict(target))
                self._looking[key] = pending
        try:
            return pending.result(timeout=self.preview_wait)
        except FutureTimeout:
            return cached[1] if cached is not None else None

    def _look(self, key: tuple[str, str], action: str, target: Mapping[str, str]) -> str:
        try:
            current = self.executor.preview(action, target)
        except SegbotError as error:
            current = f"unknown ({error})"
        except Exception as error:  # never let a look break the report
            current = f"unknown ({type(error).__name__})"
        text = f"segbot will {describe(action, target)}. Now: {escape(redact(current))}."
        with self._lock:
            self._previews[key] = (self.clock(), text)
            self._looking.pop(key, None)
        return text

    def execute(self, request: ActionRequest) -> ActionResult:
        now = self.clock()
        service = request.target.get("service", "")
        unsafe = unsafe_targets(request.target)
        if unsafe:  # checked when parsed; checked again here, whatever stored the target
            self._event(request.incident_id, "action", f"{request.action} refused: "
                        f"{', '.join(unsafe)} is not a plain name", now)
            return ActionResult(False, f"refused: {', '.join(unsafe)} is not a plain name "
                                       "(letters, digits, . _ + -, at most 64)")
        if request.action == "rollback" and self.executor.second_approver(service, "rollback"):
            waiting = self._second_approval(request, now)
            if waiting is not None:
                return waiting
        # With replicas the action is leased before its intent is written: a replica that
        # dies mid-action loses the lease, and recover() tells its outcome unknown.
        lease = None
        if self.replica is not None:
            lease = self.replica.claim(action_key(request.proposal_id))
            if lease is None:
                return ActionResult(False, "already under way: not run a second time")
            self.replica.heartbeat.hold(lease)
        try:
            return self._execute(request, now, lease)
        finally:
            if lease is not None and self.replica is not None:
                self.replica.heartbeat.drop(lease.key)

    def _execute(self, request: ActionRequest, now: datetime, lease: Lease | None
                 ) -> ActionResult:
        service = request.target.get("service", "")
        record = ActionRecord(id=request.proposal_id, incident_id=request.incident_id,
                              action=request.action, target=dict(request.target),
                              requested_by=request.requested_by, state="executing",
                              created_at=now)
        if not self.actions.begin(record):  # the intent, by compare-and-set on the id
            known = self.actions.get(request.proposal_id)
            return ActionResult(False, f"already {known.state if known else 'started'}: "
                                       "not run a second time")
        values = {**request.target, "incident": str(request.incident_id),
                  "action_id": request.proposal_id, "requested_by": request.requested_by}
        try:
            outcome = self.executor.run(request.action, request.target,
                                        action_id=request.proposal_id, values=values)
        except SegbotError as error:
            outcome = Outcome("failed", str(error))
        # what the far side answered goes to Slack and the store: never a secret, never markup
        outcome = Outcome(outcome.state, escape(redact(outcome.text)), outcome.before,
                          outcome.after)
        finished = self.clock()
        verify_at = (finished + self.executor.verify_after(service)
                     if outcome.state == "succeeded" and request.action in VERIFIED
                     else None)
        self.actions.finish(record.id, state=outcome.state, detail=outcome.text, at=finished,
                            verify_at=verify_at)
        self._finish_lease(lease)
        if outcome.state == "unknown":
            self._tell(request.incident_id, f"{describe(request.action, request.target)}: "
                       f"outcome unknown — {outcome.text}. segbot will not retry it; check "
                       "the far side before trying again.", "action", finished)
        elif outcome.state == "failed":  # timeouts, HTTP and SSH errors: said where people look
            self._tell(request.incident_id, f"{describe(request.action, request.target)} "
                       f"(requested by <@{request.requested_by}>) failed: {outcome.text}",
                       "action", finished)
        if verify_at is not None:
            self._event(request.incident_id, "action",
                        f"verification scheduled at {verify_at:%H:%M:%S} UTC", finished)
        text = outcome.text if outcome.state != "unknown" else f"outcome unknown: {outcome.text}"
        return ActionResult(outcome.state == "succeeded", text, unit_states=dict(outcome.after))

    def _second_approval(self, request: ActionRequest, now: datetime) -> ActionResult | None:
        """None when this click completes a two-person approval; else why it waits. An ask
        is for one exact action (incident, action, target), lapses after APPROVAL_TTL and is
        consumed by the click that completes it."""
        key, user = approval_key(request), request.requested_by
        fresh_after = now - APPROVAL_TTL
        asker = self.actions.take_approval(key, by=user, fresh_after=fresh_after)
        if asker is not None:
            self._event(request.incident_id, "action",
                        f"second approval by <@{user}> (asked by <@{asker}>)", now)
            return None
        asked = self.actions.approval(key)
        if asked is not None and asked[0] == user[:64] and asked[1] > fresh_after:
            return ActionResult(False, "you asked for this rollback: a second approver "
                                       "(not you) must click it")
        self.actions.ask_approval(key, by=user, at=now, fresh_after=fresh_after)
        self._event(request.incident_id, "action",
                    f"<@{user}> asked for {describe(request.action, request.target)}: "
                    "waiting for a second approver", now)
        return ActionResult(False, "waiting for a second approver (someone other "
                                   "than you must click the new button)")

    # -- start-up and shut-down -----------------------------------------------------------

    def start(self) -> None:
        told = self.recover()
        if told:
            log.warning("%d action(s) left executing by a previous run: outcome unknown", told)

    def stop(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def recover(self) -> int:
        """Every action left executing by a process that died: outcome unknown, said once.
        With replicas, only those whose lease lapsed (a live replica's are still running)."""
        told = 0
        for record in self.actions.executing():
            lease = None
            if self.replica is not None:  # not re-entrant: this process's own are live too
                lease = self.replica.leases.claim(action_key(record.id),
                                                  holder=self.replica.holder,
                                                  ttl=self.replica.ttl)
                if lease is None:
                    continue  # a live replica is executing it
            now = self.clock()
            detail = ("segbot stopped between starting this action and learning its result: "
                      "it may or may not have taken effect")
            decided = self.actions.finish(record.id, state="unknown", detail=detail, at=now)
            self._finish_lease(lease)
            if not decided:
                continue  # another process decided it first
            self._tell(record.incident_id, f"{describe(record.action, record.target)} "
                       f"(requested by <@{record.requested_by}>): outcome unknown — {detail}. "
                       f"It will not be run again by itself; check "
                       f"{how_to_check(record.action, record.target)}.", "action", now)
            told += 1
        return told

    def _finish_lease(self, lease: Lease | None) -> None:
        if lease is None or self.replica is None:
            return
        try:
            self.replica.leases.finish(lease)
        except SegbotError as error:  # taken over meanwhile: the record decides, not the lease
            log.warning("action lease %s not finished: %s", lease.key, error)

    # -- verification ----------------------------------------------------------------------

    def verify_due(self) -> int:
        if self.replica is not None:
            # A replica that died mid-action may never restart: its lapsed actions are told
            # unknown here, on the leader's schedule, not only when some process starts.
            self.recover()
        done = 0
        for record in self.actions.due(self.clock()):
            lease = None
            if self.replica is not None:
                lease = self.replica.claim(f"verify:{record.id}")
                if lease is None:
                    continue  # another replica is counting this action's crashes
                self.replica.heartbeat.hold(lease)
            try:
                if verify_action(action_id=record.id, now=self.clock(), actions=self.actions,
                                 store=self.store, announce=self.announce,
                                 host_crashes=self.executor.host_crashes) is not None:
                    done += 1
            finally:
                if lease is not None and self.replica is not None:
                    self.replica.heartbeat.drop(lease.key)
                    self.replica.leases.release(lease)  # its verdict, once set, is final
        return done

    def _tell(self, incident_id: int, text: str, kind: str, at: datetime) -> None:
        self._event(incident_id, kind, text, at)
        try:
            self.announce(incident_id, text)
        except SegbotError as error:
            log.warning("incident %s: not told in Slack: %s", incident_id, error)

    def _event(self, incident_id: int, kind: str, text: str, at: datetime) -> None:
        with self.store.transaction() as tx:
            tx.add_event(incident_id, TimelineEvent(at, kind, text, actor="segbot",
                                                    source="actions"))
            tx.audit(at=at, actor="segbot", action=kind, subject=f"incident:{incident_id}",
                     detail=text[:1000])


def approval_key(request: ActionRequest) -> str:
    import hashlib

    text = f"{request.incident_id}|{request.action}|{sorted(request.target.items())}"
    return "approval:" + hashlib.sha256(text.encode()).hexdigest()[:40]
