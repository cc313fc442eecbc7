"""`ldd BINARY`: which shared libraries resolve where (and which are not found)."""

from __future__ import annotations

import re

from bot.domain.evidence import Fact, SharedLibrary
from bot.domain.logline import split_records
from bot.domain.parsers.result import Parsed

_ARROW = re.compile(
    r"^(?P<name>\S+) => (?:(?P<path>/\S*)|(?P<missing>not found))"
    r"(?: \(0x(?P<address>[0-9a-f]+)\))?$"
)
_DIRECT = re.compile(r"^(?P<path>\S+) \(0x(?P<address>[0-9a-f]+)\)$")


def parse(
    text: str, *, year: int | None = None, host: str | None = None, expected: bool = False
) -> Parsed:
    lines = split_records(text)
    facts: list[Fact] = []
    claimed: set[int] = set()
    for index, raw in enumerate(lines):
        line = raw.strip()
        if match := _ARROW.match(line):
            facts.append(
                SharedLibrary(
                    name=match["name"],
                    path=match["path"],
                    missing=bool(match["missing"]),
                    address=int(match["address"], 16) if match["address"] else None,
                    source="ldd",
                )
            )
        elif (match := _DIRECT.match(line)) and (".so" in line):
            path = match["path"]
            facts.append(
                SharedLibrary(
                    name=path.rsplit("/", 1)[-1],
                    path=path if path.startswith("/") else None,
                    address=int(match["address"], 16),
                    source="ldd",
                )
            )
        elif expected and line in {"statically linked", "not a dynamic executable"}:
            pass
        else:
            continue
        claimed.add(index)
    return Parsed(facts=tuple(facts), claimed=frozenset(claimed), lines=len(lines))
