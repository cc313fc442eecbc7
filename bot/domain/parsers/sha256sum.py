"""`sha256sum FILE...`: the checksum of each preserved piece of evidence."""

from __future__ import annotations

import re

from bot.domain.evidence import Checksum, Fact
from bot.domain.logline import split_records
from bot.domain.parsers.result import Parsed

_LINE = re.compile(r"^(?:\\)?(?P<sum>[0-9a-f]{64}) [ *](?P<path>.+)$")


def parse(
    text: str, *, year: int | None = None, host: str | None = None, expected: bool = False
) -> Parsed:
    lines = split_records(text)
    facts: list[Fact] = []
    claimed: set[int] = set()
    for index, raw in enumerate(lines):
        if match := _LINE.match(raw.strip()):
            facts.append(Checksum(path=match["path"], sha256=match["sum"], source="sha256sum"))
            claimed.add(index)
    return Parsed(facts=tuple(facts), claimed=frozenset(claimed), lines=len(lines))
