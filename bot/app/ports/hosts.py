"""The port of diagnosis and SSH actions: one host's connection, to run commands and copy files
off it (OpenSSH in production, a local shell in the demo and tests)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class CommandResult:
    stdout: str
    stderr: str
    exit_status: int | None
    duration: float
    truncated: bool = False
    timed_out: bool = False


@dataclass(frozen=True)
class Fetched:
    path: Path
    size: int
    sha256: str


class CommandRunner(Protocol):
    """One host's connection: run shell commands (bounded by `timeout`) and copy files off it."""

    def run(self, command: str, *, timeout: float) -> CommandResult: ...

    def fetch(self, remote: str, local: Path, *, max_bytes: int, timeout: float) -> Fetched: ...

    def close(self) -> None: ...
