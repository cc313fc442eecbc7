"""The SSH CommandRunner (paramiko): pinned host keys, deadlines everywhere, capped output.

One TCP connection per host, opened eagerly, reused for every step and replaced when it dies.
Each command gets its own channel, opened, run, read and closed by one thread. No end-of-input
is ever sent: paramiko sends an EOF outside its channel lock, so a command that ends at once can
have its channel closed (by paramiko's transport thread answering sshd's close) before that
EOF leaves, and sshd drops the whole connection for an "ieof packet referred to nonexistent
channel"; commands read /dev/null instead. At most
`max_sessions` channels are open at once (sshd refuses more than MaxSessions, 10 by default);
extra steps wait for a slot, and a refused channel open is retried until the deadline.
"""

from __future__ import annotations

import hashlib
import logging
import os
import select
import shlex
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import paramiko

from bot.adapters.metrics import SSH_FAILURES
from bot.app.ports.hosts import CommandResult, Fetched
from bot.config import Target
from bot.errors import CommandTimedOut, ConnectFailed, HostKeyRejected, RemoteError, SegbotError

_STDERR_CAP = 64 << 10
PRELUDE = "umask 077; set -C; "
_GRACE = 2.0  # seconds the local deadline allows past the remote `timeout -k`


class _ExpectedRefusals(logging.Filter):
    """paramiko logs sshd's refusal of a channel over MaxSessions as an error; `_session` waits
    and retries it, so it is not one (and must not reach a terminal's progress display)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "open FAILED" not in record.getMessage()


logging.getLogger("paramiko.transport").addFilter(_ExpectedRefusals())


class _Refuse(paramiko.MissingHostKeyPolicy):
    """Never add a key: a host missing from the pinned known_hosts is refused."""

    def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
        raise HostKeyRejected(f"{hostname}: host key {key.get_name()} is not pinned in "
                              "known_hosts; refusing to connect")


@contextmanager
def _translated(name: str) -> Iterator[None]:
    """The one place where paramiko's and the socket layer's errors become segbot's."""
    try:
        yield
    except HostKeyRejected:
        SSH_FAILURES.labels(kind="host_key").inc()
        raise
    except SegbotError:
        raise
    except paramiko.BadHostKeyException as error:
        SSH_FAILURES.labels(kind="host_key").inc()
        raise HostKeyRejected(f"{name}: host key CHANGED ({error.key.get_name()} "
                              f"{error.key.get_base64()[:16]}... does not match known_hosts); "
                              "refusing to connect") from None
    except paramiko.AuthenticationException as error:
        SSH_FAILURES.labels(kind="auth").inc()
        raise ConnectFailed(f"{name}: authentication failed: {error}") from None
    except TimeoutError as error:
        SSH_FAILURES.labels(kind="timeout").inc()
        raise ConnectFailed(f"{name}: timed out: {error or 'no answer'}") from None
    except paramiko.ChannelException as error:
        SSH_FAILURES.labels(kind="channel").inc()
        raise RemoteError(f"{name}: channel refused: {error}") from None
    except (paramiko.SSHException, EOFError) as error:
        SSH_FAILURES.labels(kind="lost").inc()
        raise ConnectFailed(f"{name}: connection lost: {error or 'closed'}") from None
    except OSError as error:
        SSH_FAILURES.labels(kind="unreachable").inc()
        raise ConnectFailed(f"{name}: unreachable: {error.strerror or error}") from None


_PARSED: dict[tuple[str, Path, int, int], Any] = {}  # (kind, path, mtime_ns, size) -> parsed
_PARSED_LOCK = threading.Lock()


def _parsed(kind: str, path: Path, parse: Any) -> Any:
    """Parse a file once per version of it: a fleet's connections share one known_hosts and
    one identity, and parsing a 500-line known_hosts per host made each connect O(hosts)."""
    stat = path.stat()
    key = (kind, path, stat.st_mtime_ns, stat.st_size)
    with _PARSED_LOCK:
        if key not in _PARSED:
            for old in [k for k in _PARSED if k[:2] == key[:2]]:
                del _PARSED[old]
            _PARSED[key] = parse(str(path))
        return _PARSED[key]


def _known_hosts(path: Path) -> paramiko.HostKeys:
    known: paramiko.HostKeys = _parsed("known_hosts", path, paramiko.HostKeys)
    return known


def _identity(path: Path) -> paramiko.PKey:
    try:
        key: paramiko.PKey = _parsed("identity", path, paramiko.PKey.from_path)
    except (OSError, paramiko.SSHException) as error:
        raise ConnectFailed(f"cannot load the SSH identity {path}: "
                            f"{getattr(error, 'strerror', None) or error}") from None
    return key


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
        self._session_limit = max_sessions

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
            self._client = self._open_client()
            self.connections += 1
            transport = self._client.get_transport()
            assert transport is not None
            return transport

    def _open_client(self) -> paramiko.SSHClient:
        t, name = self.target, self.target.name
        client = paramiko.SSHClient()
        with _translated(name):
            try:
                known = _known_hosts(t.known_hosts)
            except OSError as error:
                raise HostKeyRejected(f"{name}: cannot read known_hosts {t.known_hosts}: "
                                      f"{error.strerror}") from None
            # Only this host's pinned keys: what paramiko checks, without copying a fleet's
            # whole file into every connection.
            looked_up = t.address if t.port == 22 else f"[{t.address}]:{t.port}"
            for key_type, key in (known.lookup(looked_up) or {}).items():
                client.get_host_keys().add(looked_up, key_type, key)
            client.set_missing_host_key_policy(_Refuse())
            started = time.monotonic()
            sock = socket.create_connection((t.address, t.port), timeout=self.connect_timeout)
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                client.connect(
                    t.address, port=t.port, username=t.user, pkey=_identity(t.identity_file),
                    timeout=self.connect_timeout, banner_timeout=self.connect_timeout,
                    auth_timeout=self.connect_timeout, channel_timeout=self.connect_timeout,
                    allow_agent=False, look_for_keys=False, sock=sock,
                )
            except BaseException as error:
                client.close()
                sock.close()
                # A host that accepts TCP and then says nothing ends in whichever paramiko
                # error its threads meet first; what it means is a timeout.
                if (isinstance(error, paramiko.SSHException)
                        and time.monotonic() - started >= self.connect_timeout - 0.05):
                    raise TimeoutError(f"no SSH answer within {self.connect_timeout:g}s "
                                       f"({error})") from None
                raise
            transport = client.get_transport()
            assert transport is not None
            if self.keepalive > 0:
                transport.set_keepalive(max(1, int(self.keepalive)))
        return client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    @contextmanager
    def _session(self, deadline: float) -> Iterator[paramiko.Channel]:
        """A new session channel, waiting for a free slot; closed and released on exit."""
        while True:
            with self._sessions:
                while self._open_sessions >= self._session_limit:
                    if not self._sessions.wait(timeout=max(0.0, deadline - time.monotonic())):
                        raise CommandTimedOut(f"{self.target.name}: timed out waiting for a "
                                              "free SSH session")
                self._open_sessions += 1
            channel, refused = None, False
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
                    refused = True
                if channel is not None:
                    yield channel
                    return
            finally:
                if channel is not None:
                    channel.close()
                with self._sessions:
                    self._open_sessions -= 1
                    self._sessions.notify()
                    if refused:  # wait for one of ours to close (sshd frees it a bit later)
                        self._sessions.wait(timeout=0.05)

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
        with _translated(self.target.name), self._session(deadline) as channel:
            return self._drain(channel, self.wrap(command, timeout), start, timeout, deadline)

    def _drain(self, channel: paramiko.Channel, wrapped: str, start: float, timeout: float,
               deadline: float) -> CommandResult:
        channel.exec_command(wrapped)
        out, err = bytearray(), bytearray()
        truncated = timed_out = False
        fd = channel.fileno()
        transport = channel.get_transport()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            select.select([fd], [], [], min(remaining, 0.5))
            while channel.recv_ready():
                chunk = channel.recv(65536)
                if len(out) + len(chunk) > self.max_output_bytes:
                    out += chunk[: self.max_output_bytes - len(out)]
                    truncated = True
                    break
                out += chunk
            while channel.recv_stderr_ready():
                chunk = channel.recv_stderr(65536)
                err += chunk[: max(0, _STDERR_CAP - len(err))]
                if len(err) >= _STDERR_CAP:
                    truncated = True
                    break
            if truncated:
                break  # closing the channel makes the remote writer get EPIPE and stop
            if channel.exit_status_ready() and channel.eof_received and not (
                    channel.recv_ready() or channel.recv_stderr_ready()):
                break
            if channel.closed or transport is None or not transport.is_active():
                if channel.exit_status_ready():
                    break
                raise ConnectFailed(f"{self.target.name}: connection lost during a command")
        status = channel.recv_exit_status() if channel.exit_status_ready() else None
        if status == -1:  # the channel closed without an exit status
            if transport is None or not transport.is_active():
                raise ConnectFailed(f"{self.target.name}: connection lost during a command")
            status = None  # killed by a signal (sshd sent exit-signal, not exit-status)
        duration = time.monotonic() - start
        if status == 124 or (status == 128 + 9 and duration >= timeout):
            timed_out = True
        return CommandResult(stdout=out.decode("utf-8", "replace"),
                             stderr=err.decode("utf-8", "replace"), exit_status=status,
                             duration=duration, truncated=truncated, timed_out=timed_out)

    # -- files --------------------------------------------------------------------------------
    def fetch(self, remote: str, local: Path, *, max_bytes: int, timeout: float) -> Fetched:
        """Copy a remote file off the host, bounded in size and time, checksummed on the way."""
        deadline = time.monotonic() + timeout
        partial = local.with_name(local.name + ".part")
        with _translated(self.target.name), self._session(deadline) as channel:
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
