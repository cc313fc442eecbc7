"""A CommandRunner double: answers come from a plain function of the command text."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bot.app.ports.hosts import CommandResult, Fetched
from bot.errors import RemoteError

Answer = Callable[[str], CommandResult]


def ok(stdout: str = "", status: int = 0, stderr: str = "") -> CommandResult:
    return CommandResult(stdout=stdout, stderr=stderr, exit_status=status, duration=0.01)


class FakeRunner:
    def __init__(self, answer: Answer, *, files: dict[str, bytes] | None = None,
                 delay: float = 0.0) -> None:
        self.answer, self.files, self.delay = answer, files or {}, delay
        self.commands: list[str] = []
        self.in_flight = self.max_in_flight = 0
        self.closed = False
        self._lock = threading.Lock()

    def run(self, command: str, *, timeout: float) -> CommandResult:
        with self._lock:
            self.commands.append(command)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            time.sleep(self.delay)
            return self.answer(command)
        finally:
            with self._lock:
                self.in_flight -= 1

    def fetch(self, remote: str, local: Path, *, max_bytes: int, timeout: float) -> Fetched:
        with self._lock:
            self.commands.append(f"fetch {remote}")
        if remote not in self.files:
            raise RemoteError(f"{remote}: No such file")
        data = self.files[remote]
        local.write_bytes(data)
        return Fetched(path=local, size=len(data), sha256=hashlib.sha256(data).hexdigest())

    def close(self) -> None:
        self.closed = True
