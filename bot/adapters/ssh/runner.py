"""The SSH CommandRunner (paramiko): one reused connection per host, a channel per command.

Commands read /dev/null rather than get an end-of-input: paramiko sends EOF outside its channel
lock, and sshd drops the connection when that EOF trails the channel's close.
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
from bot.adapters.ssh.stream import drain
from bot.app.ports.hosts import CommandResult, Fetched
from bot.config import Target
from bot.errors import CommandTimedOut, RemoteError

PRELUDE = "umask 077; set -C; "
_GRACE = 2.0  # seconds the local deadline allows past the remote `timeout -k`


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
        self._lock = threading.Lock()
        self._client: paramiko.SSHClient | None = None
        self._sessions = threading.Condition()
        self._open_sessions = 0
        self._session_limit = max_sessions  # sshd refuses more than MaxSessions (10 by default)

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

    @contextmanager
    def _session(self, deadline: float) -> Iterator[paramiko.Channel]:
        """A new session channel, waiting for a free slot; closed and released on exit."""
        backoff = 0.01
        while True:
            with self._sessions:
                while self._open_sessions >= self._session_limit:
                    if not self._sessions.wait(timeout=max(0.0, deadline - time.monotonic())):
                        raise CommandTimedOut(f"{self.target.name}: timed out waiting for a "
                                              "free SSH session")
                self._open_sessions += 1
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
                if channel is not None:
                    yield channel
                    return
            finally:
                if channel is not None:
                    channel.close()
                with self._sessions:
                    self._open_sessions -= 1
                    if channel is not None:
                        self._sessions.notify()
                    elif self._open_sessions > 0:
                        # Refused with ours open: the server's limit is what we hold. Waiting
                        # for one of ours to close, not retrying at once, keeps a refusal storm
                        # from starving sshd's own loop (seen: commands silent past deadlines).
                        self._session_limit = min(self._session_limit, self._open_sessions)
            if channel is None and self._open_sessions == 0:  # sshd frees a slot a bit late
                time.sleep(min(backoff, max(0.0, deadline - time.monotonic())))
                backoff = min(backoff * 2, 0.5)

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
        with translated(self.target.name), self._session(deadline) as channel:
            return drain(channel, self.wrap(command, timeout), host=self.target.name,
                         max_output=self.max_output_bytes, timeout=timeout, start=start,
                         deadline=deadline)

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
