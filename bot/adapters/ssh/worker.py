"""A shell on the host that runs segbot's commands one after another on one SSH channel.

A channel per command cost more than the command itself: about fourteen SSH messages each side
(open, exec, replies, window, data, EOF, exit status, close), most of segbot's CPU per host in a
fleet. A worker opens one channel and starts `sh` reading commands from it, line by line; after
each command it writes an end marker with the exit status on stdout and one on stderr. The marker
holds a random token, so a command's output cannot end it early by accident.

Any doubt about where a command's output ends (cap, deadline, text after the marker, a closed
channel) ends the worker: its channel is closed, which stops the command as a one-shot channel's
close did, and the next command gets a new worker. A playbook command must not leave a process
behind that writes to its output later: that text would land in a later command's output.
"""

from __future__ import annotations

import re
import secrets
import shlex
import time

import paramiko

from bot.adapters.ssh.stream import STDERR_CAP, Bounds, Readable, exit_meaning
from bot.app.ports.hosts import CommandResult
from bot.errors import ConnectFailed

_CHUNK = 1 << 16
_MARKER_ROOM = 64  # bytes past a cap still read: the end marker may follow the output
_SAFETY_WAKE = 5.0


def _script(token: str) -> str:
    # `eval` of segbot's own wrapped line (`timeout ... sh -c '...' </dev/null`): the command
    # reads /dev/null, never the commands after it, and the shell outlives it.
    return ("while IFS= read -r line; do eval \"$line\"; "
            f"printf '\\n{token} %d\\n' $?; printf '\\n{token}\\n' >&2; done")


def bootstrap(token: str) -> str:
    """The command that starts a worker whose end markers carry `token`."""
    return f"sh -c {shlex.quote(_script(token))}"


class ShellWorker:
    """One `sh` reading commands on one session channel; not thread-safe (one command at a time)."""

    def __init__(self, channel: paramiko.Channel) -> None:
        self.channel = channel
        token = f"segbot-end-{secrets.token_hex(8)}"
        self._out_end = re.compile(b"\n" + token.encode() + rb" (\d+)\n")
        self._err_end = b"\n" + token.encode() + b"\n"
        self._readable = Readable()
        channel.in_buffer.set_event(self._readable.side("out"))
        channel.in_stderr_buffer.set_event(self._readable.side("err"))
        channel.exec_command(bootstrap(token))
        self.reusable = True
        self.commands = 0
        self.ended_unheard = False

    def ready(self) -> bool:
        """Alive and silent since its last command."""
        channel = self.channel
        return not (channel.closed or channel.eof_received or channel.exit_status_ready()
                    or channel.recv_ready() or channel.recv_stderr_ready())

    def close(self) -> None:
        self.reusable = False
        self.channel.close()

    def run(self, wrapped: str, bounds: Bounds) -> CommandResult:
        """Run one wrapped command (one line) and read to its end markers, cap or deadline."""
        host, max_output, deadline = bounds.host, bounds.max_output, bounds.deadline
        channel = self.channel
        channel.sendall(wrapped.encode() + b"\n")
        out, err = bytearray(), bytearray()
        status: int | None = None
        out_done = err_done = truncated = timed_out = False
        scanned_out = scanned_err = 0
        transport = channel.get_transport()
        self.commands += 1
        while not (out_done and err_done):
            while channel.recv_ready() and len(out) <= max_output + _MARKER_ROOM:
                out += channel.recv(_CHUNK)
            while channel.recv_stderr_ready() and len(err) <= STDERR_CAP + _MARKER_ROOM:
                err += channel.recv_stderr(_CHUNK)
            if not out_done and (end := self._out_end.search(out, max(0, scanned_out - 40))):
                out_done, status = True, int(end.group(1))
                self.reusable = end.end() == len(out)  # more after it: not ours to attribute
                del out[end.start():]
            scanned_out = len(out)
            if not err_done and (stop := err.find(self._err_end, max(0, scanned_err - 40))) >= 0:
                err_done = True
                self.reusable = self.reusable and stop + len(self._err_end) == len(err)
                del err[stop:]
            scanned_err = len(err)
            if (not out_done and len(out) > max_output + _MARKER_ROOM) or (
                    not err_done and len(err) > STDERR_CAP + _MARKER_ROOM):
                truncated = True
                break
            if out_done and err_done:
                break
            if channel.closed or channel.eof_received:
                if transport is None or not transport.is_active():
                    raise ConnectFailed(f"{host}: connection lost during a command")
                # The worker's shell ended: the command's fate is unknown, unless not a byte
                # came (then the shell had died before reading it).
                self.ended_unheard = not (out or err)
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            self._readable.wait(min(remaining, _SAFETY_WAKE))
        if not (out_done and err_done):
            self.close()
        truncated = truncated or len(out) > max_output or len(err) > STDERR_CAP
        duration = time.monotonic() - bounds.start
        timed_out = timed_out or exit_meaning(status, duration, bounds.timeout)
        return CommandResult(stdout=out[:max_output].decode("utf-8", "replace"),
                             stderr=err[:STDERR_CAP].decode("utf-8", "replace"),
                             exit_status=status if out_done else None, duration=duration,
                             truncated=truncated, timed_out=timed_out)
