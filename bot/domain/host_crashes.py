"""The crashes a diagnosis found on one host, each once with its own time: systemd's exit line,
systemd-coredump's entry and the kernel's segfault line about one crash are joined into one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.alerts import Occurrence, dedup_key
from bot.domain.crash import Crash
from bot.domain.evidence import CoreFile, Deploy, Fact, ServiceExit

# One crash's records land within this of each other (the core is written, then systemd
# sees the exit); a crash loop's next crash is further away than its restart delay allows.
SAME_CRASH = timedelta(seconds=2)
# An alert and a found crash with the same pid are one crash when this close.
SAME_PID = timedelta(minutes=10)
# An alert that names no pid is stamped when it fired, not when the process died: it stands
# for the nearest found crash this close (each for one, so neither count can shrink).
ALERT_DELAY = timedelta(seconds=60)
_CRASH_SIGNALS = frozenset({"SIGSEGV", "SIGBUS", "SIGILL", "SIGABRT", "SIGFPE", "SIGTRAP",
                            "SIGSYS"})


@dataclass(frozen=True)
class CrashEvent:
    """One crash on one host."""

    time: datetime
    pid: int | None
    signal: str | None
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Seen:
    """An occurrence already stored for the incident on that host."""

    time: datetime
    pid: int | None


def crash_events(*, crashes: Sequence[Crash], facts: Sequence[Fact], unit: str | None,
                 executable: str | None, since: datetime | None = None
                 ) -> tuple[CrashEvent, ...]:
    """Each crash once: cores (by pid) joined with systemd's exit lines (by time, one to
    one). Kernel lines alone count only when nothing on the host recorded any crash: a
    container's kernel log shows its neighbours' crashes, under the machine's pids."""
    cores: dict[int, CrashEvent] = {}
    for fact in facts:
        if (isinstance(fact, CoreFile) and fact.pid is not None and fact.time is not None
                and (executable is None or fact.executable in (None, executable))):
            cores.setdefault(fact.pid, CrashEvent(fact.time, fact.pid, fact.signal,
                                                  ("coredump",)))
    exits = [f for f in facts if isinstance(f, ServiceExit) and f.signal in _CRASH_SIGNALS
             and (unit is None or f.unit in (None, unit))]
    events = sorted(cores.values(), key=lambda e: e.time)
    taken: set[int] = set()
    for exit_line in sorted(exits, key=lambda f: f.time or datetime.min):
        when = exit_line.time
        if when is None:
            continue
        nearest = min((i for i, e in enumerate(events) if i not in taken
                       and e.sources == ("coredump",) and abs(e.time - when) <= SAME_CRASH),
                      key=lambda i: abs(events[i].time - when), default=None)
        if nearest is None:
            events.append(CrashEvent(when, exit_line.pid, exit_line.signal, ("systemd",)))
            continue
        taken.add(nearest)
        core = events[nearest]
        events[nearest] = CrashEvent(min(core.time, when), core.pid, core.signal,
                                     ("coredump", "systemd"))
    if not events:
        events = [CrashEvent(c.time, c.pid, c.signal, c.sources) for c in crashes
                  if c.time is not None]
    kept = [e for e in events if since is None or e.time >= since]
    return tuple(sorted(kept, key=lambda e: (e.time, e.pid or 0)))


def unseen(events: Sequence[CrashEvent], stored: Sequence[Seen]) -> list[CrashEvent]:
    """The events no stored occurrence already stands for: the same pid (near in time), or,
    where either pid is unknown, the nearest within a minute; each stored one stands for
    one event."""
    free = list(stored)
    fresh: list[CrashEvent] = []
    for event in events:
        match = next((s for s in free if s.pid is not None and s.pid == event.pid
                      and abs(s.time - event.time) <= SAME_PID), None)
        if match is None:
            near = [s for s in free if (s.pid is None or event.pid is None)
                    and abs(s.time - event.time) <= ALERT_DELAY]
            match = min(near, key=lambda s: abs(s.time - event.time), default=None)
        if match is None:
            fresh.append(event)
        else:
            free.remove(match)
    return fresh


def as_occurrences(events: Sequence[CrashEvent], *, host: str, service: str,
                   signature: str | None, executable: str | None, build_id: str | None,
                   facts: Sequence[Fact]) -> list[Occurrence]:
    """The events as the incident's occurrences (source `diagnosis`), each with the version
    the host was running then (the latest deploy marker before it)."""
    deploys = sorted((f for f in facts if isinstance(f, Deploy) and f.version and f.time),
                     key=lambda d: d.time or datetime.min)
    found: list[Occurrence] = []
    for event in events:
        version = next((d.version for d in reversed(deploys)
                        if d.time is not None and d.time <= event.time), None)
        key = dedup_key("diagnosis", host, service, str(event.pid), event.time.isoformat())
        found.append(Occurrence(source="diagnosis", key=key, host=host, service=service,
                                status="firing", time=event.time, signal=event.signal,
                                pid=event.pid, signature=signature, version=version,
                                build_id=build_id, executable=executable))
    return found
