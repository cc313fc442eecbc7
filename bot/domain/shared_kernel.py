"""A container shares its machine's kernel, so its kernel log holds every container's crashes
under the machine's pids: there, a crash only the kernel reports is not this host's."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.crash import Crash
from bot.domain.evidence import Container, Fact


def container_of(facts: Sequence[Fact]) -> str | None:
    return next((f.name for f in facts if isinstance(f, Container)), None)


def own_crashes_in_container(crashes: Sequence[Crash], facts: Sequence[Fact]
                             ) -> tuple[list[Crash], int]:
    """The crashes this host's own records (core, gdb, systemd, journal) report, and how many
    kernel-only lines were left out; outside a container every crash is the host's."""
    if container_of(facts) is None:
        return list(crashes), 0
    own = [c for c in crashes if set(c.sources) - {"kernel"}]
    return own, len(crashes) - len(own)
