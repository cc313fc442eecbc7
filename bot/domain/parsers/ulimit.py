"""Core size limits: `ulimit -c` (bare, when we know that is what ran), `ulimit -a`,
`/proc/PID/limits`, and systemd's `LimitCORE=`."""

from __future__ import annotations

import re
from typing import Literal

from bot.domain.evidence import CoreLimit, Fact
from bot.domain.parsers.result import Parsed, read_lines

Limit = int | Literal["unlimited"]
_ULIMIT_A = re.compile(r"^core file size\s+\((?:blocks|kbytes), -c\)\s+(?P<value>\d+|unlimited)$")
_PROC_LIMITS = re.compile(
    r"^Max core file size\s+(?P<soft>\d+|unlimited)\s+(?P<hard>\d+|unlimited)"
    r"\s+bytes$"
)
_BARE = re.compile(r"^(?P<value>\d+|unlimited)$")


def parse(text: str, *, year: int | None = None, host: str | None = None,
          expected: bool = False) -> Parsed:
    """Facts: CoreLimit(soft, hard): a byte count or "unlimited"; `hard` None when not shown."""
    def read(line: str) -> Fact | None:
        if match := _ULIMIT_A.match(line):
            return CoreLimit(soft=_blocks(match["value"]), source="ulimit -a")
        if match := _PROC_LIMITS.match(line):
            return CoreLimit(soft=_value(match["soft"]), hard=_value(match["hard"]),
                             source="/proc/limits")
        if expected and (match := _BARE.match(line)):
            return CoreLimit(soft=_blocks(match["value"]), source="ulimit -c")
        return None

    return read_lines(text, read)


def _value(text: str) -> Limit:
    return "unlimited" if text == "unlimited" else int(text)


def _blocks(text: str) -> Limit:
    """bash reports the core limit in 1024-byte blocks."""
    value = _value(text)
    return value if value == "unlimited" else value * 1024
