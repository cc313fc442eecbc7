"""The SSH CommandRunner (paramiko): one reused connection per host; commands run on a few
long-lived shell workers (worker.py), copies on SFTP channels of their own.

Commands read /dev/null: a worker's stdin carries the commands after them, and on a channel of
its own an end-of-input would race the close (paramiko sends EOF outside its channel lock, and
sshd drops the connection when that EOF trails the channel's close).
"""

from __future__ import annotations

import hashlib
import os
import shlex
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import paramiko

from bot.adapters.ssh.connect import open_client, translated
from bot.adapters.ssh.stream import Bounds, drain
from bot.adapters.ssh.worker import ShellWorker
from bot.app.ports.hosts import CommandResult, Fetched
from bot.config import Target
from bot.errors import CommandTimedOut, RemoteError

PRELUDE = "umask 077; set -C; "
_GRACE = 2.0  # seconds the local deadline allows past the remote `timeout -k`
# paramiko prefetches on a thread of its own: worth it for a core, not for a few requests
_PREFETCH_OVER = 4 * paramiko.SFTPFile.MAX_REQUEST_SIZE


class SshRunner:
    """A CommandRunner over one reused paramiko connection to one inventory host."""

    def __init__(self, target: Target, *, connect_timeout: float = 10.0, keepalive: float = 15.0,
                 max_sessions: int = 8, max_output_bytes: int = 4 << 20,
                 kill_after: float = 2.0) -> None:
        self.target = target
        self.connect_timeout = connect_timeout
        self.keepalive = keepalive
        self.max_output_bytes = max_output_bytes
        self.kill_after = kill_after
        self.connections = 0  # TCP connections opened so far (reuse is measurable)
        self.channels = 0  # session channels opened so far (workers, copies)
        self._lock = threading.Lock()
        self._client: paramiko.SSHClient | None = None
        self._sessions = threading.Condition()
        self._open_sessions = 0
        self._session_limit = max_sessions  # sshd refuses more than MaxSessions (10 by default)
        self._idle: list[ShellWorker] = []  # workers between commands, each holding a slot

    # -- connection ---------------------------------------------------------------------------
    def connect(self) -> paramiko.Transport:
        """The live transport, connecting (or reconnecting after a death) when needed."""
        with self._lock:
            if self._client is not None:
                transport = self._client.get_transport()
                if transport is not None and transport.is_active():
                    return transport
                self._client.close()
                self._client = None
                self._forget_idle()
            self._client = open_client(self.target, timeout=self.connect_timeout,
                                       keepalive=self.keepalive)
            self.connections += 1
            transport = self._client.get_transport()
            assert transport is not None
            return transport

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
                self._forget_idle()

    def _forget_idle(self) -> None:
        """The connection is gone, and with it the idle workers' channels and slots."""
        with self._sessions:
            self._open_sessions -= len(self._idle)
            self._idle.clear()
            self._sessions.notify_all()

    def _slot(self, deadline: float, *, take_idle: bool) -> ShellWorker | None:
        """An idle worker (when `take_idle`), else a reserved slot for a new channel (None):
        waits while every slot is busy; an idle worker gives its slot up to other channels."""
        with self._sessions:
            while True:
                if self._idle and take_idle:
                    return self._idle.pop()
                if self._open_sessions < self._session_limit:
                    self._open_sessions += 1
                    return None
                if self._idle:
                    self._idle.pop().close()  # its slot passes to the caller
                    return None
                if not self._sessions.wait(timeout=max(0.0, deadline - time.monotonic())):
                    raise CommandTimedOut(f"{self.target.name}: timed out waiting for a free "
                                          "SSH session")

    def _open(self, deadline: float, *, take_idle: bool = False) -> paramiko.Channel | ShellWorker:
        """A new session channel in a free slot, or an idle worker when `take_idle`."""
        backoff = 0.01
        while True:
            idle = self._slot(deadline, take_idle=take_idle)
            if idle is not None:
                return idle
            channel = None
            try:
                transport = self.connect()
                try:
                    channel = transport.open_session(
                        timeout=max(0.1, deadline - time.monotonic()))
                except paramiko.SSHException:
                    # paramiko reports a refused open (sshd's MaxSessions) as a generic error
                    # when several threads open at once; a live transport means "refused".
                    if not transport.is_active() or time.monotonic() >= deadline:
                        raise
            finally:
                if channel is None:
                    with self._sessions:
                        self._open_sessions -= 1
                        if self._open_sessions > 0:
                            # Refused with ours open: the server's limit is what we hold.
                            # Waiting for one of ours to close, not retrying at once, keeps a
                            # refusal storm from starving sshd's own loop (seen: commands
                            # silent past deadlines).
                            self._session_limit = min(self._session_limit, self._open_sessions)
            if channel is not None:
                self.channels += 1
                return channel
            if self._open_sessions == 0:  # sshd frees a slot a bit late
                time.sleep(min(backoff, max(0.0, deadline - time.monotonic())))
                backoff = min(backoff * 2, 0.5)

    def _release(self, channel: paramiko.Channel) -> None:
        channel.close()
        with self._sessions:
            self._open_sessions -= 1
            self._sessions.notify()

    @contextmanager
    def _session(self, deadline: float) -> Iterator[paramiko.Channel]:
        """A new session channel of its own, closed and its slot released on exit."""
        channel = self._open(deadline)
        assert isinstance(channel, paramiko.Channel)
        try:
            yield channel
        finally:
            self._release(channel)

    def _worker(self, deadline: float) -> ShellWorker:
        while True:
            found = self._open(deadline, take_idle=True)
            if not isinstance(found, ShellWorker):
                try:
                    return ShellWorker(found)
                except BaseException:
                    self._release(found)
                    raise
            if found.ready():
                return found
            self._release(found.channel)  # ended or spoke while idle: not to be trusted

    def _give_back(self, worker: ShellWorker) -> None:
        transport = worker.channel.get_transport()
        if (worker.reusable and not worker.channel.closed and transport is not None
                and transport.is_active()):
            with self._sessions:
                self._idle.append(worker)
                self._sessions.notify()
        else:
            self._release(worker.channel)

    # -- commands -----------------------------------------------------------------------------
    def wrap(self, command: str, timeout: float) -> str:
        """The remote command: bounded on the host itself, so nothing outlives its deadline.

        Files it creates are private (umask 077) and `>` never opens an existing file
        (noclobber, O_EXCL): an extracted core can be neither read nor planted by others."""
        return (f"timeout -k {self.kill_after:g} {max(timeout, 0.1):.1f} "
                f"sh -c {shlex.quote(PRELUDE + command)} </dev/null")

    def run(self, command: str, *, timeout: float) -> CommandResult:
        start = time.monotonic()
        deadline = start + timeout + self.kill_after + _GRACE
        wrapped = self.wrap(command, timeout)
        bounds = Bounds(host=self.target.name, max_output=self.max_output_bytes,
                        timeout=timeout, start=start, deadline=deadline)
        with translated(self.target.name):
            if "\n" in wrapped:  # a worker reads one line per command
                with self._session(deadline) as channel:
                    return drain(channel, wrapped, bounds)
            for _ in range(2):
                worker = self._worker(deadline)
                reused = worker.commands > 0
                try:
                    result = worker.run(wrapped, bounds)
                except BaseException:
                    worker.close()
                    raise
                finally:
                    self._give_back(worker)
                # Ended before a byte of this command: the worker had died while idle and the
                # command never ran there. Once more, on a new worker.
                if not (reused and worker.ended_unheard):
                    break
            return result

    # -- files --------------------------------------------------------------------------------
    def fetch(self, remote: str, local: Path, *, max_bytes: int, timeout: float) -> Fetched:
        """Copy a remote file off the host, bounded in size and time, checksummed on the way."""
        deadline = time.monotonic() + timeout
        partial = local.with_name(local.name + ".part")
        with translated(self.target.name), self._session(deadline) as channel:
            channel.settimeout(max(0.1, deadline - time.monotonic()))
            channel.invoke_subsystem("sftp")
            sftp = paramiko.SFTPClient(channel)
            try:
                size = sftp.stat(remote).st_size or 0
                if size > max_bytes:
                    raise RemoteError(f"{remote} is {size} bytes, over the {max_bytes}-byte "
                                      "limit; left on the host")
                digest, copied = hashlib.sha256(), 0
                with sftp.open(remote, "rb") as source, open(partial, "wb") as sink:
                    if size > _PREFETCH_OVER:
                        source.prefetch(size)
                    while chunk := source.read(1 << 20):
                        copied += len(chunk)
                        if copied > max_bytes:
                            raise RemoteError(f"{remote} grew past {max_bytes} bytes")
                        if time.monotonic() > deadline:
                            raise CommandTimedOut(f"copying {remote} timed out after "
                                                  f"{timeout:g}s")
                        digest.update(chunk)
                        sink.write(chunk)
                os.replace(partial, local)
            except OSError as error:
                if isinstance(error, (TimeoutError, socket.timeout)):
                    raise
                raise RemoteError(f"{remote}: {error.strerror or error}") from None
            finally:
                sftp.close()
                partial.unlink(missing_ok=True)
        return Fetched(path=local, size=copied, sha256=digest.hexdigest())
