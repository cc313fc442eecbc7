"""After an action: the command that counts new cores on a host, how its answer is read, and
the verdict, which says "not verified" whenever a count could not be taken."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.domain.containment import verdict
from bot.domain.evidence import CoreFile
from bot.domain.parsers import coredumpctl_list

# The one run-time value of the count command: the action's end, in epoch seconds.
SINCE_PATTERN = "[0-9]{1,12}"


def crash_count_command(binary: str, since: str) -> str:
    """`coredumpctl list` of the binary's cores since `since` (epoch seconds), one per line.

    deploy/host/sudoers.py allows exactly this command line, so keep the two together."""
    return (f"coredumpctl --no-pager --no-legend list --since=@{since} "
            f"{shlex.quote(binary)}")


@dataclass(frozen=True)
class HostCount:
    """New cores on one host, or why they could not be counted."""

    host: str
    count: int | None
    reason: str | None = None
    cores: tuple[CoreFile, ...] = ()  # the rows read (pid, time): the incident's occurrences


def read_crash_count(host: str, *, exit_status: int | None, stdout: str, stderr: str,
                     since: datetime | None = None) -> HostCount:
    """coredumpctl says "No coredumps found." with exit 1; any other failure (sudo refusing,
    a timeout, a missing program) is no count at all, never zero.

    `--since` filters on when systemd-coredump logged a core, which under load can be seconds
    after the crash: a crash listed (to the second) before `since`'s second is the old
    process's, not a new one."""
    rows = [line for line in stdout.splitlines() if line.strip()]
    if exit_status == 0:
        cores = tuple(f for f in coredumpctl_list.parse(stdout, expected=True).facts
                      if isinstance(f, CoreFile))
        if since is not None:
            first = since.replace(microsecond=0)
            earlier = [c for c in cores if c.time is not None and c.time < first]
            return HostCount(host, len(rows) - len(earlier),
                             cores=tuple(c for c in cores if c not in earlier))
        return HostCount(host, len(rows), cores=cores)
    if exit_status == 1 and not rows and "No coredumps found" in stderr:
        return HostCount(host, 0)
    detail = " ".join(stderr.split())[:160] or " ".join(stdout.split())[:160]
    status = "no exit status" if exit_status is None else f"exit {exit_status}"
    return HostCount(host, None, f"{status}: {detail}" if detail else status)


def verification_verdict(*, action: str, stored: int, hosts: Sequence[HostCount] | None,
                         seconds: float) -> str:
    """The verification line: crash-free, still crashing, or not verified (and why)."""
    counted = [h for h in hosts or () if h.count is not None]
    missing = [h for h in hosts or () if h.count is None]
    count = max(stored, sum(h.count or 0 for h in counted))
    line = verdict(action=action, count=count, seconds=seconds)
    if not missing:
        return line
    why = "; ".join(f"{h.host}: {h.reason or 'not counted'}" for h in missing)
    since = line.rpartition(" since ")[2]
    if count:
        return (f"still crashing: at least {count} since {since} "
                f"(new cores not counted on {why})")
    return f"not verified since {since}: new cores could not be counted ({why})"
