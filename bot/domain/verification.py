"""After an action: the command that counts new cores on a host, how its answer is read, and
the verdict, which says "not verified" whenever a count could not be taken."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.containment import verdict
from bot.domain.evidence import CoreFile
from bot.domain.parsers import coredumpctl_list

# The one run-time value of the count command: the action's end, in epoch seconds.
SINCE_PATTERN = "[0-9]{1,12}"


def crash_count_command(binary: str, since: str, *, precise: bool = True) -> str:
    """`coredumpctl list` of the binary's cores logged since `since` (epoch seconds): JSON with
    microsecond crash times, or (`precise=False`, systemd before --json) the whole-second table.

    deploy/host/sudoers.py allows exactly these command lines, so keep the two together."""
    output = "--json=short" if precise else "--no-legend"
    return f"coredumpctl --no-pager {output} list --since=@{since} {shlex.quote(binary)}"


def ask_for_the_table(exit_status: int | None, stderr: str) -> bool:
    """Whether a failed JSON count is worth asking again as the table: systemd before `--json=`
    rejects the option, and a sudoers written before it allows only the table."""
    return exit_status not in (0, None) and "No coredumps found" not in stderr


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
    after the crash, so a core whose crash time is before `since` is the old process's. The
    table's times have whole seconds: there a crash in `since`'s own second cannot be placed
    after the action and counts as the old process's (a service that still crashes crashes again
    in a later second, so this delays "still crashing", never hides it)."""
    rows = [line for line in stdout.splitlines() if line.strip()]
    if exit_status == 0:
        cores = tuple(f for f in coredumpctl_list.parse(stdout, expected=True).facts
                      if isinstance(f, CoreFile))
        precise = stdout.lstrip().startswith("[")
        listed = len(cores) if precise else len(rows)
        if since is None:
            return HostCount(host, listed, cores=cores)
        # New means after `since`; with whole seconds, after `since`'s second.
        after = since if precise else since.replace(microsecond=0) + timedelta(seconds=1)
        earlier = [c for c in cores if c.time is not None and c.time < after]
        return HostCount(host, listed - len(earlier),
                         cores=tuple(c for c in cores if c not in earlier))
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
