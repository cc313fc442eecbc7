"""What every parser returns: crash evidence, facts, and which input lines it understood."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.domain.evidence import CrashEvidence, Fact
from bot.domain.logline import split_records


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


LineReader = Callable[[str], "Fact | bool | None"]


def read_lines(text: str, reader: LineReader) -> Parsed:
    """Run a one-line-at-a-time parser: `reader` gets each stripped line and returns a fact
    (kept, line claimed), True (claimed, nothing to keep) or None (not its line)."""
    lines = split_records(text)
    facts: list[Fact] = []
    claimed: set[int] = set()
    for index, raw in enumerate(lines):
        found = reader(raw.strip())
        if found is None or found is False:
            continue
        if not isinstance(found, bool):
            facts.append(found)
        claimed.add(index)
    return Parsed(facts=tuple(facts), claimed=frozenset(claimed), lines=len(lines))
