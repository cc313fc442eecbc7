"""`uname -r` (when we know that is what ran) and `uname -a`: the host's kernel release."""

from __future__ import annotations

import re

from bot.domain.evidence import Fact, KernelVersion
from bot.domain.parsers.result import Parsed, read_lines

_UNAME_A = re.compile(r"^Linux (?P<host>\S+) (?P<release>\d+\.\d+\S*) #")
_RELEASE = re.compile(r"^(?P<release>\d+\.\d+(?:\.\d+)?[\w.+~-]*)$")


def parse(text: str, *, year: int | None = None, host: str | None = None,
          expected: bool = False) -> Parsed:
    """Facts: KernelVersion(release, host)."""
    def read(line: str) -> Fact | None:
        if match := _UNAME_A.match(line):
            return KernelVersion(release=match["release"], host=host or match["host"],
                                 source="uname")
        if expected and (match := _RELEASE.match(line)):
            return KernelVersion(release=match["release"], host=host, source="uname")
        return None

    return read_lines(text, read)
