"""`uname -r` (when we know that is what ran) and `uname -a`: the host's kernel release."""

from __future__ import annotations

import re

from bot.domain.evidence import Fact, KernelVersion
from bot.domain.logline import split_records
from bot.domain.parsers.result import Parsed

_UNAME_A = re.compile(r"^Linux (?P<host>\S+) (?P<release>\d+\.\d+\S*) #")
_RELEASE = re.compile(r"^(?P<release>\d+\.\d+(?:\.\d+)?[\w.+~-]*)$")


def parse(
    text: str, *, year: int | None = None, host: str | None = None, expected: bool = False
) -> Parsed:
    lines = split_records(text)
    facts: list[Fact] = []
    claimed: set[int] = set()
    for index, raw in enumerate(lines):
        line = raw.strip()
        if match := _UNAME_A.match(line):
            facts.append(
                KernelVersion(release=match["release"], host=host or match["host"], source="uname")
            )
        elif expected and (match := _RELEASE.match(line)):
            facts.append(KernelVersion(release=match["release"], host=host, source="uname"))
        else:
            continue
        claimed.add(index)
    return Parsed(facts=tuple(facts), claimed=frozenset(claimed), lines=len(lines))
