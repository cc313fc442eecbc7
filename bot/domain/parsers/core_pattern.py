"""`/proc/sys/kernel/core_pattern`: where the kernel sends cores (a file name or a |handler)."""

from __future__ import annotations

import re

from bot.domain.evidence import CorePattern, Fact
from bot.domain.logline import split_records
from bot.domain.parsers.result import Parsed

_SYSCTL = re.compile(r"^kernel\.core_pattern\s*=\s*(?P<pattern>.*)$")


def parse(
    text: str, *, year: int | None = None, host: str | None = None, expected: bool = False
) -> Parsed:
    lines = split_records(text)
    facts: list[Fact] = []
    claimed: set[int] = set()
    for index, raw in enumerate(lines):
        line = raw.strip()
        match = _SYSCTL.match(line)
        if match:
            pattern = match["pattern"].strip()
        elif (expected and line and len(facts) == 0) or (line.startswith("|/") and "%" in line):
            pattern = line
        else:
            continue
        handler = pattern[1:].split()[0] if pattern.startswith("|") and len(pattern) > 1 else None
        facts.append(CorePattern(pattern=pattern, handler=handler, source="core_pattern"))
        claimed.add(index)
    return Parsed(facts=tuple(facts), claimed=frozenset(claimed), lines=len(lines))
