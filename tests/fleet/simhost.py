"""A simulated host: a real SSH server (asyncssh) answering segbot's playbook with recorded outputs.

Each host listens on its own loopback address (127.0.0.N) in one asyncio loop, so hundreds cost
one process. Commands are matched to playbook steps (commands.py) and answered from a recorded
lab host (recording.py) after the configured latency; the core segbot dumps lives in memory and
SFTP serves it and the binary. Failure modes: refuse, hang, die (mid-run), flood, wrong_key.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import asyncssh

from bot.adapters.ssh.worker import bootstrap

from .commands import REMOVE_CORE, Matcher, load_segfault_playbook, unwrap
from .recording import Profile, fill, load_profile

# The cheapest algorithms segbot accepts (its own preferences are its config, unchanged here):
# an AEAD cipher needs no separate MAC pass per packet, curve25519 is the cheapest key exchange.
CHEAP_ALGORITHMS: dict[str, Any] = {
    "kex_algs": ["curve25519-sha256", "curve25519-sha256@libssh.org"],
    "encryption_algs": ["aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com"],
    "mac_algs": ["hmac-sha2-256-etm@openssh.com", "hmac-sha2-256"],
    "compression_algs": ["none"],
}
asyncssh.set_log_level(logging.WARNING)  # per-packet and per-channel debug records cost CPU

Failure = Literal["none", "refuse", "hang", "die", "flood", "wrong_key"]
BINARY = "/opt/checkout/bin/checkout-api"
_FLOOD_LINE = b"Dec 03 08:00:00 flood checkout-api[1]: " + b"x" * 200 + b"\n"


@dataclass(frozen=True)
class HostSpec:
    """One simulated host; latencies in seconds."""

    name: str
    address: str
    profile: str = "crashing"  # a folder of recorded/
    version: str | None = None  # None: the recorded version
    az: str = "az-1"
    connect_latency: float = 0.0  # before authentication is accepted
    # Before each command's answer (and each SFTP open); None: as long as the lab host took.
    command_latency: float | None = 0.0
    step_latency: tuple[tuple[str, float], ...] = ()  # per step id, instead of command_latency
    failure: Failure = "none"
    die_after: int = 4  # "die": commands answered before the host drops every connection
    flood_step: str = "journal"  # "flood": the step whose output never ends

    def latency(self, step: str | None, profile: Profile) -> float:
        if step in dict(self.step_latency):
            return dict(self.step_latency)[step or ""]
        if self.command_latency is not None:
            return self.command_latency
        answer = profile.answers.get(step or "")
        return answer.duration if answer is not None else 0.0


@dataclass
class HostState:
    spec: HostSpec
    profile: Profile
    binary: bytes
    core: bytes
    files: dict[str, bytes] = field(default_factory=dict)
    answered: int = 0
    dead: bool = False
    connections: list[asyncssh.SSHServerConnection] = field(default_factory=list)
    listener: Any = None

    @property
    def values(self) -> dict[str, str]:
        version = self.spec.version or self.profile.recorded["version"]
        return {"hostname": self.spec.name, "version": version,
                "build_id": self.profile.build_id(version),
                "core_path": self.profile.recorded["core_path"]}


@functools.cache
def _files(profile: str, version: str | None) -> tuple[bytes, bytes]:
    """One copy of a version's files, shared by every host that runs it."""
    loaded = load_profile(profile)
    return loaded.files(version or loaded.recorded["version"])


def new_state(spec: HostSpec) -> HostState:
    profile = load_profile(spec.profile)
    binary, core = _files(spec.profile, spec.version)
    return HostState(spec=spec, profile=profile, binary=binary, core=core,
                     files={BINARY: binary})


_MATCHER: Matcher | None = None


def _matcher() -> Matcher:
    global _MATCHER
    if _MATCHER is None:
        _MATCHER = Matcher(load_segfault_playbook())
    return _MATCHER


def answer(host: HostState, wire: str) -> tuple[str | None, str, str, int]:
    """(step, stdout, stderr, exit status) for one command as segbot sent it."""
    command = unwrap(wire)
    matched = _matcher().match(command)
    if matched is None:
        return None, "", f"sh: 1: {command.split(' ', 1)[0]}: not found\n", 127
    step, path = matched.step, matched.values.get("core_path", "")
    if step == "core_sha256":  # also the binary's: the same template
        data = host.files.get(path)
        if data is None:
            return step, "", f"sha256sum: {path}: No such file or directory\n", 1
        return step, f"{hashlib.sha256(data).hexdigest()}  {path}\n", "", 0
    if step == REMOVE_CORE:
        host.files.pop(path, None)
        return step, "", "", 0
    recorded = host.profile.answers.get(step)
    if recorded is None:
        return step, "", f"simulated host: nothing recorded for {step}\n", 1
    if step == "dump_core" and recorded.exit_status == 0:
        host.files[path] = host.core
    values = dict(host.values, core_path=path or host.values["core_path"])
    return (step, fill(recorded.stdout, values), fill(recorded.stderr, values),
            recorded.exit_status)


class _Corked:
    """A transport that sends what one loop iteration wrote in one `send`: asyncssh writes
    each SSH packet at once, and a loopback send per packet was most of a host's CPU."""

    def __init__(self, transport: Any) -> None:
        self._transport, self._pending = transport, list[bytes]()

    def write(self, data: bytes) -> None:
        if not self._pending:
            asyncio.get_running_loop().call_soon(self._flush)
        self._pending.append(data)

    def _flush(self) -> None:
        data, self._pending = b"".join(self._pending), []
        if data and not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _Server(asyncssh.SSHServer):
    def __init__(self, host: HostState) -> None:
        self.host = host

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        if self.host.dead:
            conn.abort()
            return
        transport = getattr(conn, "_transport", None)
        if transport is not None:
            conn._transport = _Corked(transport)  # type: ignore[attr-defined]
        self.host.connections.append(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        self.host.connections = [c for c in self.host.connections if not c.is_closed()]

    async def begin_auth(self, username: str) -> bool:
        await asyncio.sleep(self.host.spec.connect_latency)
        return True


class _MemorySFTP(asyncssh.SFTPServer):
    """SFTP over the host's in-memory files (read-only)."""

    def __init__(self, chan: asyncssh.SSHServerChannel[bytes], host: HostState) -> None:
        super().__init__(chan)
        self.host = host

    def _data(self, path: bytes) -> bytes:
        data = self.host.files.get(path.decode())
        if data is None:
            raise asyncssh.SFTPNoSuchFile(f"{path.decode()}: no such file")
        return data

    def stat(self, path: bytes) -> asyncssh.SFTPAttrs:
        return asyncssh.SFTPAttrs(size=len(self._data(path)), permissions=0o100600)

    lstat = stat

    async def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> object:
        if pflags & ~asyncssh.FXF_READ:
            raise asyncssh.SFTPPermissionDenied("read-only")
        data = self._data(path)
        latency = self.host.spec.command_latency
        if latency is None:
            kind = "binary" if path.decode() == BINARY else "core"
            latency = self.host.profile.fetch_seconds.get(kind, 0.0)
        await asyncio.sleep(latency)
        return [data]

    def fstat(self, file_obj: object) -> asyncssh.SFTPAttrs:
        assert isinstance(file_obj, list)
        return asyncssh.SFTPAttrs(size=len(file_obj[0]), permissions=0o100600)

    def read(self, file_obj: object, offset: int, size: int) -> bytes:
        assert isinstance(file_obj, list)
        data: bytes = file_obj[0][offset:offset + size]
        return data

    def close(self, file_obj: object) -> None:
        pass


async def _flood(process: asyncssh.SSHServerProcess[str]) -> None:
    chunk = (_FLOOD_LINE * 256).decode()
    try:
        for _ in range(4096):  # 13 MB at most: segbot must stop reading long before
            if process.is_closing():
                return
            process.stdout.write(chunk)
            await process.stdout.drain()
        process.exit(0)
    except (OSError, asyncssh.Error):
        return


def _kill(host: HostState) -> None:
    """The host dies: every connection drops, new ones are refused."""
    host.dead = True
    if host.listener is not None:
        host.listener.close()
    for conn in list(host.connections):
        conn.abort()


# segbot's worker shell (bot/adapters/ssh/worker.py), whatever its token
_first, _rest = re.escape(bootstrap("TOKEN")).split("TOKEN", 1)
_WORKER = re.compile(_first + r"(?P<token>segbot-end-[0-9a-f]+)"
                     + _rest.replace("TOKEN", "(?P=token)") + r"\Z")


async def handle(host: HostState, process: asyncssh.SSHServerProcess[str]) -> None:
    """One exec channel: a one-shot command, or a segbot worker shell reading its commands."""
    wire = process.command or ""
    worker = _WORKER.match(wire)
    if worker is None:
        await _answer(host, process, wire, None)
        return
    try:
        while (line := await process.stdin.readline()) and not process.is_closing():
            if not await _answer(host, process, line.rstrip("\n"), worker["token"]):
                return
        process.exit(0)
    except (OSError, asyncssh.Error):
        pass


async def _answer(host: HostState, process: asyncssh.SSHServerProcess[str], wire: str,
                  token: str | None) -> bool:
    """Answer one command as the host would; False when the channel ended with it."""
    step, out, err, status = answer(host, wire)
    await asyncio.sleep(host.spec.latency(step, host.profile))
    if host.dead:
        return False
    spec = host.spec
    if spec.failure == "flood" and step == spec.flood_step:
        await _flood(process)
        return False
    host.answered += 1
    if spec.failure == "die" and host.answered > spec.die_after:
        _kill(host)
        return False
    try:
        if token is None:
            process.stdout.write(out)
            process.stderr.write(err)
            process.exit(status)
            return False
        process.stdout.write(f"{out}\n{token} {status}\n")
        process.stderr.write(f"{err}\n{token}\n")
        return True
    except (OSError, asyncssh.Error):
        return False
