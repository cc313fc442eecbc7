"""Alert intake behind the HTTP routes: occurrences go to the writer process, which answers
once they are committed (group commit, see writer_process)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import pickle
import sys
from dataclasses import dataclass

from bot.adapters.web.metrics import IntakeMetrics
from bot.adapters.web.writer_process import DATABASE_ENV, HEADER, READY, Reply, pack
from bot.app.incidents import IntakeResult, request_diagnoses, resume_diagnoses
from bot.app.ports.store import DiagnosisTrigger, Store
from bot.domain.alerts import Occurrence
from bot.errors import SegbotError, StoreError

log = logging.getLogger(__name__)
ACK_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
READY_TIMEOUT = 60.0


WRITER_ENTRY = "bot.wiring"  # the composition root starts the writer process (and its store)


@dataclass(frozen=True, slots=True)
class _Waiting:
    future: asyncio.Future[IntakeResult]
    deadline: float  # on the event loop's clock


class Intake:
    """Takes one request's occurrences and returns only once they are committed."""

    def __init__(
        self,
        *,
        store: Store,
        database_url: str,
        trigger: DiagnosisTrigger,
        metrics: IntakeMetrics,
        window_seconds: float,
        python: str = sys.executable,
        ack_timeout: float = ACK_TIMEOUT,
    ) -> None:
        self._store = store
        self._database_url = database_url
        self._trigger = trigger
        self._metrics = metrics
        self._window = window_seconds
        self._python = python
        self._ack_timeout = ack_timeout
        self._ids = itertools.count(1)
        # In arrival order, so in deadline order: the sweeper looks only at the oldest.
        self._pending: dict[int, _Waiting] = {}
        self._sweeping: asyncio.Task[None] | None = None
        self._writer: asyncio.subprocess.Process | None = None
        self._reading: asyncio.Task[None] | None = None
        self._starting = asyncio.Lock()
        self._outbox: list[bytes] = []

    async def start(self) -> None:
        resumed = await asyncio.to_thread(resume_diagnoses, store=self._store,
                                          trigger=self._trigger)
        self._metrics.diagnoses.inc(resumed)
        await self._ensure_writer()

    async def stop(self) -> None:
        if self._sweeping is not None:
            self._sweeping.cancel()
            self._sweeping = None
        writer, reading = self._writer, self._reading
        if writer is None or writer.stdin is None:
            return
        writer.stdin.close()  # the writer finishes what it has, answers, and exits
        try:
            await asyncio.wait_for(writer.wait(), STOP_TIMEOUT)
        except TimeoutError:
            writer.kill()
            await writer.wait()
        if reading is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await reading

    async def take(self, occurrences: list[Occurrence]) -> IntakeResult:
        """Store these occurrences (deduped, grouped); raise StoreError if that failed."""
        writer = await self._ensure_writer()
        loop = asyncio.get_running_loop()
        request_id = next(self._ids)
        future: asyncio.Future[IntakeResult] = loop.create_future()
        self._pending[request_id] = _Waiting(future, loop.time() + self._ack_timeout)
        if self._sweeping is None:
            self._sweeping = asyncio.create_task(self._sweep())
        # Requests taken in one turn of the event loop go down the pipe in one write.
        if not self._outbox:
            loop.call_soon(self._send, writer)
        self._outbox.append(pack(request_id, occurrences))
        try:
            return await future
        except TimeoutError:
            raise StoreError("the store did not commit in time") from None
        finally:
            self._pending.pop(request_id, None)

    async def _sweep(self) -> None:
        """Fail requests the writer has not answered in time. One task for all of them, not a
        timer per request: asyncio keeps each cancelled timer in its heap until it would have
        fired, so a storm kept some 100,000 dead timers sorted there."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(1.0, self._ack_timeout / 4))
            now, overdue = loop.time(), []
            for waiting in self._pending.values():
                if waiting.deadline > now:
                    break
                overdue.append(waiting.future)
            for future in overdue:
                if not future.done():
                    future.set_exception(TimeoutError())

    def _send(self, writer: asyncio.subprocess.Process) -> None:
        frames, self._outbox = b"".join(self._outbox), []
        if writer.stdin is not None and writer.returncode is None:
            writer.stdin.write(frames)

    async def _ensure_writer(self) -> asyncio.subprocess.Process:
        if self._writer is not None and self._writer.returncode is None:
            return self._writer
        async with self._starting:
            if self._writer is not None and self._writer.returncode is None:
                return self._writer
            writer = await asyncio.create_subprocess_exec(
                self._python, "-m", WRITER_ENTRY, "intake-writer", f"{self._window:g}",
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                env={**os.environ, DATABASE_ENV: self._database_url})
            await self._await_ready(writer)
            self._writer = writer
            self._reading = asyncio.create_task(self._read(writer))
            return writer

    async def _await_ready(self, writer: asyncio.subprocess.Process) -> None:
        """Wait for the writer's first frame, which says its store is open."""
        assert writer.stdout is not None
        try:
            async with asyncio.timeout(READY_TIMEOUT):
                (length,) = HEADER.unpack(await writer.stdout.readexactly(HEADER.size))
                ready = _loads(await writer.stdout.readexactly(length)) == READY
        except (TimeoutError, asyncio.IncompleteReadError, StoreError, pickle.PickleError):
            ready = False
        if not ready:
            with contextlib.suppress(ProcessLookupError):
                writer.kill()
            status = await writer.wait()
            raise StoreError(f"the intake writer did not start (status {status})")

    async def _read(self, writer: asyncio.subprocess.Process) -> None:
        assert writer.stdout is not None
        try:
            while True:
                (length,) = HEADER.unpack(await writer.stdout.readexactly(HEADER.size))
                reply = _loads(await writer.stdout.readexactly(length))
                await self._answer(reply)
        except asyncio.IncompleteReadError:  # the writer exited
            await writer.wait()
            self._fail_pending(f"the intake writer exited (status {writer.returncode})")
        except Exception as error:  # a reply we cannot read: start afresh with a new writer
            log.error("intake writer reply unreadable: %s: %s", type(error).__name__, error)
            with contextlib.suppress(ProcessLookupError):
                writer.kill()
            await writer.wait()
            self._fail_pending(f"the intake writer failed: {type(error).__name__}")

    async def _answer(self, reply: Reply) -> None:
        self._metrics.batch_size.observe(len(reply.answers))
        opened = sum(len(a.result.opened) for a in reply.answers if a.result is not None)
        if opened:
            self._metrics.incidents_opened.inc(opened)
        if reply.diagnoses:  # handed off before the alerts that claimed them are acknowledged
            try:
                await asyncio.to_thread(request_diagnoses, store=self._store,
                                        trigger=self._trigger, requests=reply.diagnoses)
                self._metrics.diagnoses.inc(len(reply.diagnoses))
            except SegbotError as failure:  # the alerts are stored: they are still answered,
                # and the claimed diagnoses stay pending for resume_diagnoses at the next start
                log.error("diagnoses not handed off: %s", failure)
        for answer in reply.answers:
            waiting = self._pending.get(answer.request_id)
            if waiting is None or waiting.future.done():
                continue  # timed out meanwhile
            if answer.result is not None:
                waiting.future.set_result(answer.result)
            else:
                waiting.future.set_exception(
                    StoreError(answer.error or "the intake writer gave no answer"))

    def _fail_pending(self, reason: str) -> None:
        for waiting in self._pending.values():
            if not waiting.future.done():
                waiting.future.set_exception(StoreError(reason))


def _loads(data: bytes) -> Reply:
    reply = pickle.loads(data)
    if not isinstance(reply, Reply):
        raise StoreError("the intake writer answered with something else")
    return reply
