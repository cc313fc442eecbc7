"""Alert intake behind the HTTP routes: decode, then group-commit through the use case."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from bot.adapters.web.group_commit import GroupCommitter
from bot.adapters.web.metrics import IntakeMetrics
from bot.app.incidents import (
    IntakeResult,
    MessageDecoder,
    ingest,
    request_diagnoses,
    resume_diagnoses,
)
from bot.app.ports import DiagnosisTrigger, Store
from bot.domain.alerts import Occurrence
from bot.errors import StoreError

ACK_TIMEOUT = 30.0


def _expire(future: asyncio.Future[IntakeResult]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Intake:
    """Takes one request's occurrences and returns only once they are committed."""

    def __init__(
        self,
        *,
        store: Store,
        trigger: DiagnosisTrigger,
        decoder: MessageDecoder,
        metrics: IntakeMetrics,
        window: timedelta,
        linger: float = 0.0,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._store = store
        self._trigger = trigger
        self._decoder = decoder
        self._metrics = metrics
        self._window = window
        self._clock = clock
        self._committer: GroupCommitter[list[Occurrence], IntakeResult] = GroupCommitter(
            self._work, linger=linger, on_batch=metrics.batch_size.observe
        )

    def start(self) -> None:
        resumed = resume_diagnoses(store=self._store, trigger=self._trigger)
        self._metrics.diagnoses.inc(resumed)
        self._committer.start()

    def stop(self) -> None:
        self._committer.stop()

    async def take(self, occurrences: list[Occurrence]) -> IntakeResult:
        """Store these occurrences (deduped, grouped); raise StoreError if that failed.

        Waits for the writer thread's commit without holding a worker thread.
        """
        future = self._committer.submit_async(occurrences)
        # One timer per request, not asyncio.wait_for's task-and-timer machinery.
        timer = asyncio.get_running_loop().call_later(ACK_TIMEOUT, _expire, future)
        try:
            return await future
        except StoreError:
            raise
        except TimeoutError:
            raise StoreError("the store did not commit in time") from None
        except Exception as error:
            raise StoreError(f"intake failed: {type(error).__name__}: {error}") from error
        finally:
            timer.cancel()

    def _work(self, requests: Sequence[list[Occurrence]]) -> Sequence[IntakeResult]:
        outcome = ingest(
            store=self._store,
            requests=requests,
            now=self._clock(),
            window=self._window,
            decoder=self._decoder,
        )
        opened = sum(len(r.opened) for r in outcome.results)
        if opened:
            self._metrics.incidents_opened.inc(opened)
        if outcome.diagnoses:
            request_diagnoses(store=self._store, trigger=self._trigger, requests=outcome.diagnoses)
            self._metrics.diagnoses.inc(len(outcome.diagnoses))
        return outcome.results
