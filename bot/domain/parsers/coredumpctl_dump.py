"""`coredumpctl dump PID --output=PATH`: the path the core was written to, plus the core's
details that newer systemd prints alongside (read by the coredumpctl_info parser)."""

from __future__ import annotations

from bot.domain.evidence import CoreDumped, Fact
from bot.domain.logline import split_records
from bot.domain.parsers import coredumpctl_info
from bot.domain.parsers.result import Parsed


def parse(
    text: str, *, year: int | None = None, host: str | None = None, expected: bool = False
) -> Parsed:
    """What coredumpctl_info reads from the same text, plus the fact CoreDumped(path)."""
    info = coredumpctl_info.parse(text, year=year, host=host, expected=expected)
    lines = split_records(text)
    facts: list[Fact] = list(info.facts)
    claimed = set(info.claimed)
    for index, raw in enumerate(lines):
        line = raw.strip()
        if index not in claimed and line.startswith("/") and " " not in line and expected:
            facts.append(CoreDumped(path=line, source="coredumpctl dump"))
            claimed.add(index)
        elif line.startswith(("More than one entry matches", "No match found")):
            claimed.add(index)
    return Parsed(
        crashes=info.crashes, facts=tuple(facts), claimed=frozenset(claimed), lines=len(lines)
    )
