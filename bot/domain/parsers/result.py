"""What every parser returns: crash evidence, facts, and which input lines it understood."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.domain.evidence import CrashEvidence, Fact


@dataclass(frozen=True)
class Parsed:
    crashes: tuple[CrashEvidence, ...] = ()
    facts: tuple[Fact, ...] = ()
    # Indices into split_records(text) of the lines this parser read; the rest are "skipped".
    claimed: frozenset[int] = field(default_factory=frozenset)
    lines: int = 0

    @property
    def skipped(self) -> int:
        return self.lines - len(self.claimed)
