"""A CommandRunner for this machine: the playbook's commands run locally, as `bash -c` in a
working directory, with the same deadlines and output caps as over SSH."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import time
from pathlib import Path

from bot.app.ports.hosts import CommandResult, Fetched
from bot.errors import CommandTimedOut, RemoteError

MAX_OUTPUT = 4 << 20


class LocalRunner:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir

    def run(self, command: str, *, timeout: float) -> CommandResult:
        started = time.monotonic()
        try:
            # private files, no clobbering, as over SSH (bot.adapters.ssh.PRELUDE)
            done = subprocess.run(["bash", "-c", "umask 077; set -C; " + command],
                                  cwd=self.workdir, capture_output=True, timeout=timeout,
                                  check=False)
        except subprocess.TimeoutExpired as expired:
            return CommandResult(stdout=_text(expired.stdout), stderr=_text(expired.stderr),
                                 exit_status=None, duration=time.monotonic() - started,
                                 timed_out=True)
        stdout, stderr = done.stdout, done.stderr
        truncated = len(stdout) + len(stderr) > MAX_OUTPUT
        return CommandResult(stdout=_text(stdout[:MAX_OUTPUT]), stderr=_text(stderr[:MAX_OUTPUT]),
                             exit_status=done.returncode, duration=time.monotonic() - started,
                             truncated=truncated)

    def fetch(self, remote: str, local: Path, *, max_bytes: int, timeout: float) -> Fetched:
        source = self.workdir / remote
        try:
            size = source.stat().st_size
            if size > max_bytes:
                raise RemoteError(f"{remote} is {size} bytes, over the {max_bytes}-byte limit")
            local.parent.mkdir(parents=True, exist_ok=True)
            started = time.monotonic()
            shutil.copyfile(source, local)
            if time.monotonic() - started > timeout:
                raise CommandTimedOut(f"copying {remote} took longer than {timeout:.0f}s")
            digest = hashlib.sha256(local.read_bytes()).hexdigest()
        except OSError as error:
            raise RemoteError(f"cannot copy {remote}: {error.strerror or error}") from None
        return Fetched(path=local, size=size, sha256=digest)

    def close(self) -> None:
        return None


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode("utf-8", "replace")
