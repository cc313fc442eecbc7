"""Reading one command's channel to its end: both streams capped, woken by paramiko, not polled."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import paramiko

from bot.app.ports.hosts import CommandResult
from bot.errors import ConnectFailed

STDERR_CAP = 64 << 10
_CHUNK = 1 << 16
_SAFETY_WAKE = 5.0  # seconds: a lost wake-up costs at most this, never a hang


class Readable:
    """Set while either of a channel's buffers holds data or has ended.

    Stands in for the OS pipe of `Channel.fileno()`: paramiko's reader thread writes that pipe
    outside the lock `Channel.close()` frees it under, so a channel closed while data still
    streams in (a capped flood) let the reader write a freed, possibly reused, descriptor."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._ready = {"out": False, "err": False}

    def side(self, name: str) -> _Side:
        return _Side(self, name)

    def mark(self, name: str, ready: bool) -> None:
        with self._changed:
            self._ready[name] = ready
            if ready:
                self._changed.notify_all()

    def wait(self, timeout: float) -> None:
        with self._changed:
            self._changed.wait_for(lambda: any(self._ready.values()), timeout)


class _Side(threading.Event):
    """The event one paramiko BufferedPipe sets and clears (under its own lock)."""

    def __init__(self, readable: Readable, name: str) -> None:
        super().__init__()
        self.readable, self.name = readable, name

    def set(self) -> None:
        super().set()
        self.readable.mark(self.name, True)

    def clear(self) -> None:
        super().clear()
        self.readable.mark(self.name, False)


def exit_meaning(status: int | None, duration: float, timeout: float) -> bool:
    """Whether an exit status is `timeout -k`'s: 124 (TERM), or KILL once the time was up."""
    return status == 124 or (status == 128 + 9 and duration >= timeout)


@dataclass(frozen=True)
class Bounds:
    """One command's limits: its host (for errors), output cap, timeout and local deadline."""

    host: str
    max_output: int
    timeout: float
    start: float  # time.monotonic() when the command was asked for
    deadline: float


def drain(channel: paramiko.Channel, wrapped: str, bounds: Bounds) -> CommandResult:
    """Run `wrapped` on its own channel and read it to its exit status, cap or deadline."""
    host, max_output, deadline = bounds.host, bounds.max_output, bounds.deadline
    readable = Readable()
    channel.in_buffer.set_event(readable.side("out"))
    channel.in_stderr_buffer.set_event(readable.side("err"))
    channel.exec_command(wrapped)
    out, err = bytearray(), bytearray()
    truncated = timed_out = False
    transport = channel.get_transport()
    while True:
        while channel.recv_ready() and not truncated:
            chunk = channel.recv(_CHUNK)
            truncated = len(out) + len(chunk) > max_output
            out += chunk[: max_output - len(out)]
        while channel.recv_stderr_ready() and not truncated:
            chunk = channel.recv_stderr(_CHUNK)
            err += chunk[: max(0, STDERR_CAP - len(err))]
            truncated = len(err) >= STDERR_CAP
        if truncated:
            break  # closing the channel makes the remote writer get EPIPE and stop
        if not (channel.recv_ready() or channel.recv_stderr_ready()):
            if channel.exit_status_ready() and (channel.eof_received or channel.closed):
                break
            if transport is None or not transport.is_active():
                raise ConnectFailed(f"{host}: connection lost during a command")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            break
        if channel.eof_received:  # both buffers ended (they stay "ready"): await the status
            channel.status_event.wait(min(remaining, _SAFETY_WAKE))
        else:
            readable.wait(min(remaining, _SAFETY_WAKE))
    status = channel.recv_exit_status() if channel.exit_status_ready() else None
    if status == -1:  # the channel closed without an exit status
        if transport is None or not transport.is_active():
            raise ConnectFailed(f"{host}: connection lost during a command")
        status = None  # killed by a signal (sshd sent exit-signal, not exit-status)
    duration = time.monotonic() - bounds.start
    timed_out = timed_out or exit_meaning(status, duration, bounds.timeout)
    return CommandResult(stdout=out.decode("utf-8", "replace"),
                         stderr=err.decode("utf-8", "replace"), exit_status=status,
                         duration=duration, truncated=truncated, timed_out=timed_out)
