"""Opening one pinned, authenticated paramiko connection, and paramiko's errors made segbot's."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import paramiko

from bot.adapters.metrics import SSH_FAILURES
from bot.config import Target
from bot.errors import ConnectFailed, HostKeyRejected, RemoteError, SegbotError


class _ExpectedRefusals(logging.Filter):
    """sshd refusing a channel over MaxSessions is waited out and retried, not an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "open FAILED" not in record.getMessage()


logging.getLogger("paramiko.transport").addFilter(_ExpectedRefusals())
# paramiko's failures reach people as segbot's errors (translated below); its records go to the
# logging a process set up (serve's), not to a bare stderr as tracebacks amid the CLI's report.
logging.getLogger("paramiko").addHandler(logging.NullHandler())


class _Refuse(paramiko.MissingHostKeyPolicy):
    """Never add a key: a host missing from the pinned known_hosts is refused."""

    def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
        raise HostKeyRejected(f"{hostname}: host key {key.get_name()} is not pinned in "
                              "known_hosts; refusing to connect")


@contextmanager
def translated(name: str) -> Iterator[None]:
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


def _identity(path: Path) -> paramiko.PKey:
    try:
        key: paramiko.PKey = _parsed("identity", path, paramiko.PKey.from_path)
    except (OSError, paramiko.SSHException) as error:
        raise ConnectFailed(f"cannot load the SSH identity {path}: "
                            f"{getattr(error, 'strerror', None) or error}") from None
    return key


def _pin(client: paramiko.SSHClient, target: Target) -> None:
    """Only this host's pinned keys: what paramiko checks, without a fleet's whole file."""
    try:
        known: paramiko.HostKeys = _parsed("known_hosts", target.known_hosts, paramiko.HostKeys)
    except OSError as error:
        raise HostKeyRejected(f"{target.name}: cannot read known_hosts {target.known_hosts}: "
                              f"{error.strerror}") from None
    looked_up = target.address if target.port == 22 else f"[{target.address}]:{target.port}"
    for key_type, key in (known.lookup(looked_up) or {}).items():
        client.get_host_keys().add(looked_up, key_type, key)
    client.set_missing_host_key_policy(_Refuse())


class _BufferedReads:
    """The connection's socket, read in large chunks: paramiko reads each packet's header and
    body with separate `recv` calls (each a poll, a syscall and a GIL hand-off); here one
    `recv` usually serves several packets. Only paramiko's reader thread reads."""

    _CHUNK = 1 << 16

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._data = b""
        self._position = 0

    def recv(self, size: int) -> bytes:
        if self._position >= len(self._data):
            self._data, self._position = self._sock.recv(max(size, self._CHUNK)), 0
        end = self._position + size
        chunk = self._data[self._position:end]
        self._position = end
        return chunk

    def __getattr__(self, name: str) -> Any:  # send, settimeout, close, _closed, ...
        return getattr(self._sock, name)


_AEAD = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")


def _transport(sock: Any, **kwargs: Any) -> paramiko.Transport:
    """paramiko's transport preferring AES-GCM: as strong as its CTR+HMAC default, and one
    cryptography call per packet instead of a cipher pass plus an HMAC in Python."""
    # paramiko takes any object with a socket's recv, send, settimeout and close
    transport = paramiko.Transport(cast(socket.socket, _BufferedReads(sock)), **kwargs)
    options = transport.get_security_options()
    options.ciphers = _AEAD + tuple(c for c in options.ciphers if c not in _AEAD)
    return transport


def open_client(target: Target, *, timeout: float, keepalive: float) -> paramiko.SSHClient:
    """A connected, authenticated client whose host key matched known_hosts (translated errors)."""
    client = paramiko.SSHClient()
    with translated(target.name):
        _pin(client, target)
        started = time.monotonic()
        sock = socket.create_connection((target.address, target.port), timeout=timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            client.connect(
                target.address, port=target.port, username=target.user,
                pkey=_identity(target.identity_file), timeout=timeout, banner_timeout=timeout,
                auth_timeout=timeout, channel_timeout=timeout, allow_agent=False,
                look_for_keys=False, sock=sock, transport_factory=_transport,
            )
        except BaseException as error:
            client.close()
            sock.close()
            # A host that accepts TCP and then says nothing ends in whichever paramiko error
            # its threads meet first; what it means is a timeout.
            if (isinstance(error, paramiko.SSHException)
                    and time.monotonic() - started >= timeout - 0.05):
                raise TimeoutError(f"no SSH answer within {timeout:g}s ({error})") from None
            raise
        transport = client.get_transport()
        assert transport is not None
        if keepalive > 0:
            transport.set_keepalive(max(1, int(keepalive)))
    return client
