"""Group commit: request threads hand their work to one writer thread and wait for its commit.

With `synchronous=FULL` each commit waits for the disk; one writer committing whatever has
queued up meanwhile turns N fsyncs into one, and still answers no request before its data is
durable. Requests that arrive while a commit is in flight simply form the next group.

Waiters on an event loop are woken once per group, not once per request: one
`call_soon_threadsafe` settles every asyncio future of the group (waking the loop per request
cost more CPU than the commit itself in an alert storm).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

_STOP = object()

Waiter = Future[Result] | asyncio.Future[Result]
Outcome = tuple[Result | None, BaseException | None]


class GroupCommitter(Generic[Item, Result]):
    """Runs `work(items) -> results` (one result per item, one transaction) on one thread."""

    def __init__(
        self,
        work: Callable[[Sequence[Item]], Sequence[Result]],
        *,
        max_batch: int = 512,
        linger: float = 0.0,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self._work = work
        self._max_batch = max_batch
        self._linger = linger
        self._on_batch = on_batch
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="segbot-group-commit", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish what is queued, then stop."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout)

    def submit(self, item: Item) -> Future[Result]:
        """For a caller on a thread: a future settled by the writer."""
        future: Future[Result] = Future()
        if not self._thread.is_alive():
            future.set_exception(RuntimeError("the writer is not running"))
            return future
        self._queue.put((item, future))
        return future

    def submit_async(self, item: Item) -> asyncio.Future[Result]:
        """For a caller on the running event loop: a loop future, settled with its group."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        if not self._thread.is_alive():
            future.set_exception(RuntimeError("the writer is not running"))
            return future
        self._queue.put((item, future))
        return future

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch: list[tuple[Item, Waiter[Result]]] = []
            entry = self._queue.get()
            # Wait up to `linger` for company: one commit for many requests costs less CPU
            # (and one fsync) than one commit each.
            deadline = time.monotonic() + self._linger
            while True:
                if entry is _STOP:
                    stopping = True
                    break
                batch.append(entry)  # type: ignore[arg-type]
                if len(batch) >= self._max_batch:
                    break
                try:
                    left = deadline - time.monotonic()
                    entry = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._commit(batch)

    def _commit(self, batch: list[tuple[Item, Waiter[Result]]]) -> None:
        if self._on_batch is not None:
            self._on_batch(len(batch))
        _settle([waiter for _, waiter in batch], self._outcomes([item for item, _ in batch]))

    def _outcomes(self, items: list[Item]) -> list[Outcome[Result]]:
        try:
            return [(result, None) for result in self._work(items)]
        except Exception as error:  # the group failed: retry one by one so one bad item
            if len(items) == 1:  # cannot take the others down with it
                return [(None, error)]
            return [outcome for item in items for outcome in self._outcomes([item])]


def _settle(waiters: list[Waiter[Result]], outcomes: list[Outcome[Result]]) -> None:
    on_loops: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Result], Outcome[Result]]]]
    on_loops = {}
    for waiter, outcome in zip(waiters, outcomes, strict=True):
        if isinstance(waiter, asyncio.Future):
            on_loops.setdefault(waiter.get_loop(), []).append((waiter, outcome))
        else:
            _set(waiter, outcome)
    for loop, settled in on_loops.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
            loop.call_soon_threadsafe(_settle_on_loop, settled)


def _settle_on_loop(settled: list[tuple[asyncio.Future[Result], Outcome[Result]]]) -> None:
    for future, outcome in settled:
        if not future.done():  # a waiter that timed out has been cancelled
            _set(future, outcome)


def _set(waiter: Waiter[Result], outcome: Outcome[Result]) -> None:
    result, error = outcome
    if error is not None:
        waiter.set_exception(error)
    else:
        waiter.set_result(result)  # type: ignore[arg-type]
