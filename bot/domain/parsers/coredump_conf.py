"""systemd-coredump's limits from `coredump.conf` (or `systemd-analyze cat-config`)."""

from __future__ import annotations

import re

from bot.domain.evidence import CoredumpStorage
from bot.domain.logline import split_records
from bot.domain.parsers.result import Parsed
from bot.domain.sizes import parse_size

_KEY = re.compile(
    r"^(?:[^:\s]*coredump\.conf[^:\s]*:)?(?P<key>Storage|Compress|ProcessSizeMax|"
    r"ExternalSizeMax|JournalSizeMax|MaxUse|KeepFree)=(?P<value>\S*)\s*$"
)
_FIELDS = {
    "ProcessSizeMax": "process_size_max",
    "ExternalSizeMax": "external_size_max",
    "JournalSizeMax": "journal_size_max",
    "MaxUse": "max_use",
    "KeepFree": "keep_free",
}


def parse(
    text: str, *, year: int | None = None, host: str | None = None, expected: bool = False
) -> Parsed:
    """Facts: one CoredumpStorage(storage, compress, process_size_max, external_size_max,
    journal_size_max, max_use, keep_free), sizes in bytes."""
    lines = split_records(text)
    values: dict[str, object] = {}
    claimed: set[int] = set()
    for index, raw in enumerate(lines):
        line = raw.strip()
        match = _KEY.match(line)
        if match:
            key, value = match["key"], match["value"]
            if key == "Storage":
                values["storage"] = value
            elif key == "Compress":
                values["compress"] = value.lower() in {"yes", "true", "1", "on"}
            else:
                values[_FIELDS[key]] = parse_size(value)
            claimed.add(index)
        elif expected and (line.startswith(("#", "[Coredump]")) or not line):
            claimed.add(index)
    if not values:
        return Parsed(claimed=frozenset(claimed), lines=len(lines))
    fact = CoredumpStorage(source="coredump.conf", **values)  # type: ignore[arg-type]
    return Parsed(facts=(fact,), claimed=frozenset(claimed), lines=len(lines))
