"""gdb's `info proc mappings`, with or without the Perms column (read off the header)."""

from __future__ import annotations

import re

from bot.domain.evidence import Fact, MemoryMapping
from bot.domain.logline import split_records
from bot.domain.parsers.result import Parsed

_HEADER = re.compile(r"^\s*Start Addr\s+End Addr\s+Size\s+Offset\s+(?P<perms>Perms\s+)?objfile")
_HEX = r"0x([0-9a-f]+)"
_ROW = re.compile(
    rf"^\s*{_HEX}\s+{_HEX}\s+{_HEX}\s+{_HEX}(?:\s+(?P<perms>[rwxsp-]{{4}}))?(?:\s+(?P<path>\S.*))?$"
)


def parse(
    text: str, *, year: int | None = None, host: str | None = None, expected: bool = False
) -> Parsed:
    """Facts: MemoryMapping(start, end, offset, path, perms) per mapped range."""
    lines = split_records(text)
    facts: list[Fact] = []
    claimed: set[int] = set()
    in_table = expected
    for index, raw in enumerate(lines):
        line = raw.strip()
        if _HEADER.match(line) or (line in {"Mapped address spaces:", ""} and in_table):
            in_table = True
            claimed.add(index)
            continue
        if line.startswith("process ") and line[8:].strip().isdigit():
            claimed.add(index)
            continue
        match = _ROW.match(line)
        if not match or not in_table:
            continue
        start, end, _size, offset = (int(match[n], 16) for n in range(1, 5))
        facts.append(
            MemoryMapping(
                start=start,
                end=end,
                offset=offset,
                path=match["path"],
                perms=match["perms"],
                source="gdb",
            )
        )
        claimed.add(index)
    return Parsed(facts=tuple(facts), claimed=frozenset(claimed), lines=len(lines))
