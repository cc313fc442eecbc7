"""Work that must happen once across replicas: claimed in the database with a lease, fenced by
the claim's token (a holder whose lease was taken over can no longer write), renewed while the
work runs, finished for good when it is done."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Protocol

from bot.domain.incident import DiagnosisRequest
from bot.errors import StaleLease

log = logging.getLogger("segbot.claims")

DEFAULT_TTL = 15.0  # seconds a dead replica's claims outlive it


@dataclass(frozen=True)
class Lease:
    """A claim on one piece of work: `token` grows with every new holder (the fence)."""

    key: str
    holder: str
    token: int
    taken_over: bool = False  # an earlier holder claimed it and never finished it
    note: str | None = None  # what the earlier holder wrote down before it died


def diagnosis_key(incident_id: int, host: str, again: str = "") -> str:
    return f"diagnosis:{incident_id}:{host}" + (f":again:{again}" if again else "")


def channel_key(incident_id: int) -> str:
    return f"channel:{incident_id}"


def report_key(incident_id: int) -> str:
    return f"report:{incident_id}"


def slash_key(request_id: str) -> str:
    return f"slash:{request_id}"


def action_key(action_id: str) -> str:
    return f"action:{action_id}"[:200]


class Leases(Protocol):
    def claim(self, key: str, *, holder: str, ttl: float) -> Lease | None:
        """The lease on `key` if it is free, expired or already ours; None if another live
        holder has it or the work is finished."""

    def renew(self, lease: Lease, *, ttl: float) -> bool:
        """Extend the lease; False when it was taken over (stop working)."""

    def release(self, lease: Lease) -> None:
        """Give the work back unfinished: another replica may claim it at once."""

    def finish(self, lease: Lease) -> None:
        """The work is done: never claimed again; raises StaleLease if taken over."""

    def fenced(self, lease: Lease, *, finish: bool = False) -> AbstractContextManager[None]:
        """Hold the lease still while the block writes: raises StaleLease if taken over, and
        a takeover waits until the block is done; with `finish`, the work is finished with
        it (no other holder can take it over between the writes and the finish)."""

    def check(self, lease: Lease) -> None:
        """Raise StaleLease if the lease was taken over (not held across a later write)."""

    def note(self, lease: Lease, text: str) -> None:
        """Write down (fenced) what is about to be done, for a holder that takes over."""

    def finished(self, key: str) -> bool: ...

    def orphaned_diagnoses(self, *, grace: float, holder: str) -> list[DiagnosisRequest]:
        """Diagnoses of open incidents asked for over `grace` seconds ago, and re-runs people
        asked for, that no live holder other than `holder` has and nobody finished."""


class Heartbeat:
    """Renews held leases every ttl / 3 on one thread; a lease that cannot be renewed is
    dropped and reported through `lost`."""

    def __init__(self, leases: Leases, *, ttl: float = DEFAULT_TTL,
                 lost: Callable[[Lease], None] | None = None) -> None:
        self.leases, self.ttl, self._lost = leases, ttl, lost
        self._held: dict[str, Lease] = {}
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="segbot-lease-heartbeat",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def hold(self, lease: Lease) -> None:
        with self._guard:
            self._held[lease.key] = lease

    def drop(self, key: str) -> None:
        with self._guard:
            self._held.pop(key, None)

    def holds(self, key: str) -> Lease | None:
        with self._guard:
            return self._held.get(key)

    @contextmanager
    def held(self, lease: Lease) -> Iterator[Lease]:
        """Renewed for the duration of the block, then dropped."""
        self.hold(lease)
        try:
            yield lease
        finally:
            self.drop(lease.key)

    def beat(self) -> None:
        """One round of renewals (the thread calls this; tests may too)."""
        with self._guard:
            held = list(self._held.values())
        for lease in held:
            try:
                alive = self.leases.renew(lease, ttl=self.ttl)
            except Exception as error:  # the database is away: keep trying until it expires
                log.warning("lease %s not renewed: %s", lease.key, error)
                continue
            if not alive:
                log.warning("lease %s was taken over (token %s)", lease.key, lease.token)
                self.drop(lease.key)
                if self._lost is not None:
                    self._lost(lease)

    def _run(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            self.beat()


@dataclass(frozen=True)
class Replica:
    """This process among the replicas: its claims, its heartbeat, its name."""

    leases: Leases
    heartbeat: Heartbeat
    holder: str
    grace: float = 2 * DEFAULT_TTL  # a diagnosis nobody started by then is taken over

    @property
    def ttl(self) -> float:
        return self.heartbeat.ttl

    def fenced(self, lease: Lease | None, *, finish: bool = False
               ) -> AbstractContextManager[None]:
        return nullcontext() if lease is None else self.leases.fenced(lease, finish=finish)

    def claim(self, key: str) -> Lease | None:
        """The lease on `key`: the one this process holds already, or a new claim."""
        return self.heartbeat.holds(key) or self.leases.claim(key, holder=self.holder,
                                                              ttl=self.ttl)


def post_once(*, replica: Replica, key: str, post: Callable[[str], str],
              find: Callable[[str], str | None], record: Callable[[str], None]) -> str | None:
    """Post under the claim `key` once across replicas and crashes: a holder that takes the
    claim over first `find`s the post its predecessor may have made (by the claim in its
    metadata); `record(ts)` is fenced. None when another live replica holds it or it is done."""
    lease = replica.claim(key)
    if lease is None:
        return None
    with replica.heartbeat.held(lease):
        found = find(key) if lease.taken_over else None
        ts = found or post(key)
        with replica.fenced(lease):
            record(ts)
        replica.leases.finish(lease)
    return ts


def run_claimed(*, leases: Leases, heartbeat: Heartbeat, key: str, holder: str,
                work: Callable[[Lease], None]) -> bool:
    """Claim `key`, run `work` with the lease renewed, finish it; False when another holder
    has it or it is done. A failing `work` releases the lease for another try."""
    lease = leases.claim(key, holder=holder, ttl=heartbeat.ttl)
    if lease is None:
        return False
    with heartbeat.held(lease):
        try:
            work(lease)
        except StaleLease:
            log.warning("work %s was taken over; this replica stops", key)
            return False
        except BaseException:
            try:
                leases.release(lease)
            except Exception as error:  # it expires by itself
                log.warning("lease %s not released: %s", key, error)
            raise
        leases.finish(lease)
    return True
