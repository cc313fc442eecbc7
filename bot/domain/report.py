"""The decoded report: every crash, every fact, and the conclusions drawn from them."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.classify import Classification
from bot.domain.correlation import Change
from bot.domain.crash import Crash
from bot.domain.evidence import Fact
from bot.domain.health import HealthNote, RestartStorm
from bot.domain.triage import Determinism, Recommendation


@dataclass(frozen=True)
class SectionSummary:
    """How one piece of input was read: which parsers took it, how many lines were skipped."""

    command: str | None
    parsers: tuple[str, ...]
    lines: int
    recognized: int


@dataclass(frozen=True)
class DecodedReport:
    crashes: tuple[Crash, ...]
    facts: tuple[Fact, ...]
    classification: Classification | None
    signature: str | None
    recommendations: tuple[Recommendation, ...]
    determinism: Determinism
    health: tuple[HealthNote, ...]
    restart_storm: RestartStorm | None
    changes: tuple[Change, ...]
    sections: tuple[SectionSummary, ...]
    rollback_to: str | None = None  # from change history: the last version without the crash
    machine_kernel_lines: int = 0  # kernel-only crashes left out: a container's log is shared

    @property
    def unrecognized_lines(self) -> int:
        return sum(s.lines - s.recognized for s in self.sections)

    @property
    def primary(self) -> Crash | None:
        """The crash the report leads with: the best-evidenced, then the latest."""
        if not self.crashes:
            return None
        return max(
            self.crashes,
            key=lambda c: (
                c.fault_address is not None or c.ip is not None,
                len(c.sources),
                len(c.frames),
                c.time.timestamp() if c.time else 0,
            ),
        )

    @property
    def recognized_anything(self) -> bool:
        return bool(self.crashes or self.facts)
