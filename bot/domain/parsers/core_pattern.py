"""`/proc/sys/kernel/core_pattern`: where the kernel sends cores (a file name or a |handler)."""

from __future__ import annotations

import re

from bot.domain.evidence import CorePattern, Fact
from bot.domain.parsers.result import Parsed, read_lines

_SYSCTL = re.compile(r"^kernel\.core_pattern\s*=\s*(?P<pattern>.*)$")


def parse(text: str, *, year: int | None = None, host: str | None = None,
          expected: bool = False) -> Parsed:
    """Facts: CorePattern(pattern, handler) where `handler` is the |program, if any."""
    def read(line: str) -> Fact | None:
        if match := _SYSCTL.match(line):
            pattern = match["pattern"].strip()
        elif (expected and line) or (line.startswith("|/") and "%" in line):
            pattern = line
        else:
            return None
        handler = pattern[1:].split()[0] if pattern.startswith("|") and len(pattern) > 1 else None
        return CorePattern(pattern=pattern, handler=handler, source="core_pattern")

    return read_lines(text, read)
