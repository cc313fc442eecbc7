"""A container shares its machine's kernel, so its kernel log holds every container's crashes
under the machine's pids: there, a crash only the kernel reports is not this host's."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.evidence import Container, CrashEvidence, Fact


def container_of(facts: Sequence[Fact]) -> str | None:
    return next((f.name for f in facts if isinstance(f, Container)), None)


def machine_groups_apart(groups: Sequence[list[CrashEvidence]], facts: Sequence[Fact]
                         ) -> tuple[list[list[CrashEvidence]], list[list[CrashEvidence]]]:
    """The crashes (as groups of evidence) this host's own records (core, gdb, systemd,
    journal) report, and those only the kernel does: in a container, the machine's, counted
    but not decoded. Outside a container every crash is the host's."""
    if container_of(facts) is None:
        return list(groups), []
    own: list[list[CrashEvidence]] = []
    machine: list[list[CrashEvidence]] = []
    for group in groups:
        (own if any(e.source != "kernel" for e in group) else machine).append(group)
    return own, machine
