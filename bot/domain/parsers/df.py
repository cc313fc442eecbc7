"""`df` and `df -h`: how full each filesystem is (read the header for the units)."""

from __future__ import annotations

import re

from bot.domain.evidence import DiskUsage, Fact
from bot.domain.logline import split_records
from bot.domain.parsers.result import Parsed
from bot.domain.sizes import parse_size

_HEADER = re.compile(
    r"^Filesystem\s+(?:Type\s+)?(?P<unit>Size|1K-blocks|1024-blocks|"
    r"\d+[KMG]?-blocks|1B-blocks)\s+Used\s+Avail(?:able)?\s+(?:Use%|Capacity)\s+"
    r"Mounted on$"
)
_ROW = re.compile(
    r"^(?P<fs>\S+)\s+(?:(?P<type>[a-z0-9.]+)\s+)?(?P<size>\S+)\s+(?P<used>\S+)\s+"
    r"(?P<avail>\S+)\s+(?P<pct>\d+%|-)\s+(?P<mount>/.*)$"
)


def parse(
    text: str, *, year: int | None = None, host: str | None = None, expected: bool = False
) -> Parsed:
    """Facts: DiskUsage(filesystem, mount, size, used, available, use_percent) per row, in bytes."""
    lines = split_records(text)
    facts: list[Fact] = []
    claimed: set[int] = set()
    unit: str | None = None
    typed = False
    for index, raw in enumerate(lines):
        line = raw.strip()
        if match := _HEADER.match(line):
            unit = match["unit"]
            typed = " Type " in line
            claimed.add(index)
            continue
        if unit is None or not (match := _ROW.match(line)):
            continue
        if match["type"] and not typed:
            continue
        factor = "" if unit == "Size" else "K"
        if unit not in {"Size", "1K-blocks", "1024-blocks"}:
            factor = "" if unit == "1B-blocks" else unit.split("-")[0][-1]
        facts.append(
            DiskUsage(
                filesystem=match["fs"],
                mount=match["mount"].strip(),
                size=parse_size(match["size"], default_unit=factor),
                used=parse_size(match["used"], default_unit=factor),
                available=parse_size(match["avail"], default_unit=factor),
                use_percent=int(match["pct"].rstrip("%")) if match["pct"] != "-" else None,
                source="df",
            )
        )
        claimed.add(index)
    return Parsed(facts=tuple(facts), claimed=frozenset(claimed), lines=len(lines))
