"""The intake's writer process: commits what the HTTP process validated, group by group, over
length-prefixed pickle frames on its stdin/stdout (`python -m bot.wiring intake-writer`)."""

from __future__ import annotations

import os
import pickle
import struct
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.app.ports.store import Store
from bot.domain.alerts import Occurrence
from bot.domain.incident import DiagnosisRequest

if TYPE_CHECKING:
    from bot.app.incidents import IntakeResult

HEADER = struct.Struct(">I")
MAX_GROUP = 512  # requests per transaction: a flood is committed in bounded steps
DATABASE_ENV = "SEGBOT_WRITER_DB"

@dataclass(frozen=True, slots=True)
class IntakeRequest:
    request_id: int
    occurrences: list[Occurrence]


@dataclass(frozen=True, slots=True)
class Answer:
    """What became of one request: its IntakeResult, or the reason it failed."""

    request_id: int
    result: IntakeResult | None
    error: str | None = None


def pack(request_id: int, occurrences: list[Occurrence]) -> bytes:
    """A request's frame; occurrences travel as tuples of their fields (cheaper to pickle)."""
    return frame((request_id, [tuple(vars(o).values()) for o in occurrences]))


def _unpack(value: object) -> IntakeRequest | None:
    if not isinstance(value, tuple) or len(value) != 2:
        return None
    request_id, rows = value
    return IntakeRequest(request_id, [Occurrence(*row) for row in rows])


@dataclass(frozen=True)
class Reply:
    """One group's answers, and the diagnoses its new incidents claimed."""

    answers: tuple[Answer, ...]
    diagnoses: tuple[DiagnosisRequest, ...]


READY = Reply((), ())  # the writer's first frame: its store is open


def frame(value: object) -> bytes:
    body = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(body)) + body


class Frames:
    """Complete frames from a blocking file descriptor, as many as have arrived at once."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buffer = bytearray()

    def next_group(self) -> list[object] | None:
        """Every complete frame available now (blocking for the first); None at end of input."""
        while True:
            frames = self._complete()
            if frames:
                return frames
            chunk = os.read(self._fd, 1 << 20)
            if not chunk:
                return None
            self._buffer += chunk

    def _complete(self) -> list[object]:
        frames: list[object] = []
        at = 0
        while len(self._buffer) - at >= HEADER.size and len(frames) < MAX_GROUP:
            (length,) = HEADER.unpack_from(self._buffer, at)
            if len(self._buffer) - at - HEADER.size < length:
                break
            start = at + HEADER.size
            frames.append(pickle.loads(self._buffer[start : start + length]))
            at = start + length
        del self._buffer[:at]
        return frames


def main(argv: Sequence[str], *,
         open_store: Callable[[str], AbstractContextManager[Store]]) -> int:
    """Serve the pipe until the parent closes it."""
    window = timedelta(seconds=float(argv[0]))
    with open_store(os.environ[DATABASE_ENV]) as store:
        _serve(store, window)
    return 0


def _serve(store: Store, window: timedelta) -> None:
    from bot.app.incidents import ingest, message_decoder
    from bot.errors import SegbotError

    decoder = message_decoder()

    def group(requests: list[IntakeRequest]) -> Reply:
        try:
            outcome = ingest(store=store, requests=[r.occurrences for r in requests],
                             now=datetime.now(UTC), window=window, decoder=decoder)
        except Exception as error:  # the group failed: alone, one bad request fails alone
            if len(requests) == 1:
                reason = str(error) if isinstance(error, SegbotError) else (
                    f"intake failed: {type(error).__name__}: {error}")
                return Reply((Answer(requests[0].request_id, None, reason),), ())
            singles = [group([r]) for r in requests]
            return Reply(tuple(a for s in singles for a in s.answers),
                         tuple(d for s in singles for d in s.diagnoses))
        answers = tuple(Answer(r.request_id, result)
                        for r, result in zip(requests, outcome.results, strict=True))
        return Reply(answers, outcome.diagnoses)

    incoming = Frames(sys.stdin.fileno())
    out = sys.stdout.fileno()
    reply = READY  # the parent waits for it: the first alert must not pay for this start-up
    while True:
        data = memoryview(frame(reply))
        while data:
            data = data[os.write(out, data):]
        if (frames := incoming.next_group()) is None:
            return
        reply = group([r for r in map(_unpack, frames) if r is not None])
