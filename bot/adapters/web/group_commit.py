"""Group commit: request threads hand their work to one writer thread and wait for its commit.

With `synchronous=FULL` each commit waits for the disk; one writer committing whatever has
queued up meanwhile turns N fsyncs into one, and still answers no request before its data is
durable. Requests that arrive while a commit is in flight simply form the next group.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

_STOP = object()


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
        future: Future[Result] = Future()
        if not self._thread.is_alive():
            future.set_exception(RuntimeError("the writer is not running"))
            return future
        self._queue.put((item, future))
        return future

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch: list[tuple[Item, Future[Result]]] = []
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

    def _commit(self, batch: list[tuple[Item, Future[Result]]]) -> None:
        if self._on_batch is not None:
            self._on_batch(len(batch))
        try:
            results = self._work([item for item, _ in batch])
        except Exception as error:  # the group failed: retry one by one so one bad item
            if len(batch) == 1:  # cannot take the others down with it
                batch[0][1].set_exception(error)
                return
            for single in batch:
                self._commit([single])
            return
        for (_, future), result in zip(batch, results, strict=True):
            future.set_result(result)
