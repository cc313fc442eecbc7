"""Evidence health and restart storms: will the next crash leave a core, and is the restart
loop itself doing harm?"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from bot.domain.crash import Crash
from bot.domain.evidence import (
    CoredumpStorage,
    CoreFile,
    CoreLimit,
    CorePattern,
    DiskUsage,
    Fact,
    RestartCounter,
    RestartPolicy,
)

F = TypeVar("F", bound=Fact)
DISK_NEARLY_FULL = 90
FAST_RESTART_USEC = 1_000_000
MANY_RESTARTS = 5
_CORE_MOUNTS = ("/var/lib/systemd/coredump", "/var/tmp", "/var/lib", "/var", "/")


@dataclass(frozen=True)
class HealthNote:
    # core_limit_zero | disk_nearly_full | core_missing | core_truncated | size_cap |
    # core_elsewhere
    problem: str
    text: str


@dataclass(frozen=True)
class RestartStorm:
    unit: str | None
    restart: str | None
    restart_usec: int | None
    restarts: int | None
    storm: bool

    def describe(self) -> str:
        parts = []
        if self.restart:
            parts.append(f"Restart={self.restart}")
        if self.restart_usec is not None:
            parts.append(f"RestartSec={_duration(self.restart_usec)}")
        if self.restarts is not None:
            parts.append(f"{self.restarts} restarts")
        return ", ".join(parts)


_SERVICE_LIMITS = ("systemctl show", "/proc/limits")


def evidence_health(facts: Sequence[Fact], crashes: Sequence[Crash]) -> tuple[HealthNote, ...]:
    """What threatens the next core. A core that exists for this crash outweighs anything
    that suggests cores are not written (a limit of 0 read elsewhere, old vacuumed entries)."""
    notes: list[HealthNote] = []
    cores = _of(facts, CoreFile)
    written = any(c.corefile == "present" for c in cores) or any(
        c.corefile == "present" for c in crashes
    )
    limit = _service_limit(_of(facts, CoreLimit))
    if limit is not None and limit.soft == 0 and not written:
        whose = "the service's" if limit.source in _SERVICE_LIMITS else "a login shell's"
        notes.append(
            HealthNote(
                "core_limit_zero",
                f"core size limit is 0 ({whose}, {limit.source}): "
                "no core is written unless the unit sets LimitCORE",
            )
        )
    for pattern in _of(facts, CorePattern)[-1:]:
        if written:
            break
        if pattern.handler is None:
            notes.append(HealthNote(
                "core_elsewhere",
                f"kernel.core_pattern is {pattern.pattern!r}: the kernel writes cores as files "
                "(relative names in the process's working directory), not to systemd-coredump: "
                "coredumpctl will not list them"))
        elif not pattern.handler.endswith("systemd-coredump"):
            notes.append(HealthNote(
                "core_elsewhere",
                f"kernel.core_pattern pipes cores to {pattern.handler}, not systemd-coredump: "
                "look for them there"))
    seen_mounts: set[str] = set()
    for disk in _of(facts, DiskUsage):
        if (
            disk.use_percent is not None
            and disk.use_percent >= DISK_NEARLY_FULL
            and disk.mount in _CORE_MOUNTS
            and disk.filesystem not in seen_mounts
        ):
            seen_mounts.add(disk.filesystem)
            left = f", {_bytes(disk.available)} left" if disk.available is not None else ""
            notes.append(
                HealthNote(
                    "disk_nearly_full",
                    f"{disk.mount} is {disk.use_percent}% "
                    f"full{left}: cores and logs will soon be lost",
                )
            )
    for storage in _of(facts, CoredumpStorage):
        if storage.storage == "none" and not written:
            notes.append(
                HealthNote("core_missing", "coredump.conf Storage=none: cores are thrown away")
            )
        caps = [
            (name, value)
            for name, value in (
                ("ProcessSizeMax", storage.process_size_max),
                ("ExternalSizeMax", storage.external_size_max),
            )
            if value is not None
        ]
        if caps:
            text = ", ".join(f"{name}={_bytes(value)}" for name, value in caps)
            notes.append(
                HealthNote(
                    "size_cap",
                    f"systemd-coredump caps cores at {text}: a "
                    "process larger than that leaves a truncated or no core",
                )
            )
    for core in cores:
        if core.corefile == "truncated" or (
            core.corefile in {"missing", "none", "inaccessible", "error"} and not written
        ):
            notes.append(
                HealthNote(
                    f"core_{'truncated' if core.corefile == 'truncated' else 'missing'}",
                    f"core of pid {core.pid} is {core.corefile}",
                )
            )
    return tuple(dict.fromkeys(notes))


def _service_limit(limits: Sequence[CoreLimit]) -> CoreLimit | None:
    """The service's own core limit when known (the unit, or its process's /proc limits); a
    login shell's `ulimit -c` only when nothing else is: it says nothing about the service."""
    service = [c for c in limits if c.source in _SERVICE_LIMITS]
    if service:
        return next((c for c in service if c.source == "/proc/limits"), service[-1])
    return limits[0] if limits else None


def restart_storm(facts: Sequence[Fact]) -> RestartStorm | None:
    policies = _of(facts, RestartPolicy)
    counters = _of(facts, RestartCounter)
    if not policies and not counters:
        return None
    policy = policies[-1] if policies else None
    counted = max((c.count for c in counters), default=None)
    restarts = (
        max(v for v in ((policy.n_restarts if policy else None), counted) if v is not None)
        if (policy and policy.n_restarts is not None) or counted is not None
        else None
    )
    restart = policy.restart if policy else None
    usec = policy.restart_usec if policy else None
    fast = restart not in {None, "no"} and usec is not None and usec < FAST_RESTART_USEC
    # A fast policy that has not restarted anything is a risk, not a storm.
    storm = (fast and restarts != 0) or (restarts is not None and restarts >= MANY_RESTARTS)
    unit = (policy.unit if policy else None) or next((c.unit for c in counters if c.unit), None)
    return RestartStorm(
        unit=unit, restart=restart, restart_usec=usec, restarts=restarts, storm=storm
    )


def _of(facts: Sequence[Fact], kind: type[F]) -> list[F]:
    return [f for f in facts if isinstance(f, kind)]


def _duration(usec: int) -> str:
    if usec < 1000:
        return f"{usec}us"
    if usec < 1_000_000:
        return f"{usec // 1000}ms"
    return f"{usec / 1_000_000:g}s"


def _bytes(value: int | None) -> str:
    if value is None:
        return "?"
    size = float(value)
    for unit in ("B", "K", "M", "G"):
        if size < 1024:
            return f"{size:.3g}{unit}"
        size /= 1024
    return f"{size:.3g}T"
