"""Coalescing report updates: `touch(N)` marks incident N dirty, one worker publishes it at most
once per `min_interval` and within a global spacing (chat.update is rate limited per workspace);
a failed publish stays dirty and is retried with backoff."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("segbot.slack.updater")

MAX_BACKOFF = 60.0


class ReportUpdater:
    def __init__(
        self,
        publish: Callable[[int], bool | None],
        *,
        min_interval: float = 2.0,
        global_interval: float = 1.2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._publish = publish
        self._min_interval = min_interval
        self._global_interval = global_interval
        self._clock = clock
        self._cond = threading.Condition()
        self._dirty: dict[int, float] = {}  # incident -> earliest time it may be published
        self._last: dict[int, float] = {}
        self._failures: dict[int, int] = {}
        self._last_any = float("-inf")
        self._busy = False
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.published = 0

    def touch(self, incident_id: int, *, urgent: bool = False) -> None:
        with self._cond:
            if urgent:
                self._dirty[incident_id] = float("-inf")
            elif incident_id not in self._dirty:  # kept: a retry's backoff stays
                earliest = self._last.get(incident_id, float("-inf")) + self._min_interval
                self._dirty[incident_id] = earliest
            self._cond.notify_all()

    def touch_later(self, incident_id: int, delay: float) -> None:
        """Publish `incident_id` in `delay` seconds at the latest."""
        with self._cond:
            earliest = self._clock() + delay
            self._dirty[incident_id] = min(self._dirty.get(incident_id, earliest), earliest)
            self._cond.notify_all()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="segbot-slack-updater",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def idle(self, timeout: float) -> bool:
        """Wait until nothing is dirty or being published (tests, shutdown); False on timeout."""
        deadline = self._clock() + timeout
        with self._cond:
            while self._dirty or self._busy:
                left = deadline - self._clock()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    def _next(self) -> tuple[int, tuple[float, float]] | None:
        """The incident due now (waiting as needed) and its and the global last publish
        before this one, or None when stopping."""
        with self._cond:
            while not self._stopping:
                now = self._clock()
                if self._dirty:
                    incident_id, due = min(self._dirty.items(), key=lambda kv: (kv[1], kv[0]))
                    due = max(due, self._last_any + self._global_interval)
                    if due <= now:
                        del self._dirty[incident_id]
                        self._busy = True
                        previous = self._last.get(incident_id, float("-inf")), self._last_any
                        self._last[incident_id] = self._last_any = now
                        return incident_id, previous
                    self._cond.wait(due - now)
                else:
                    self._cond.wait()
            return None

    def _run(self) -> None:
        while (picked := self._next()) is not None:
            incident_id, (last, last_any) = picked
            try:
                sent = self._publish(incident_id)
            except Exception as error:  # Slack down, store busy: keep it dirty, back off
                failures = self._failures.get(incident_id, 0) + 1
                self._failures[incident_id] = failures
                delay = min(MAX_BACKOFF, self._min_interval * 2 ** min(failures, 6))
                log.warning("report of incident %s not published (%s); retry in %.1fs",
                            incident_id, error, delay)
                with self._cond:
                    retry_at = self._clock() + delay
                    self._dirty[incident_id] = min(self._dirty.get(incident_id, retry_at),
                                                   retry_at)
            else:
                if sent is False:  # held back, nothing sent: no interval spent
                    with self._cond:
                        self._last[incident_id], self._last_any = last, last_any
                        if incident_id in self._dirty:
                            self._dirty[incident_id] = min(self._dirty[incident_id],
                                                           last + self._min_interval)
                else:
                    self._failures.pop(incident_id, None)
                    self.published += 1
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
