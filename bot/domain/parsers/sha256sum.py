"""`sha256sum FILE...`: the checksum of each preserved piece of evidence."""

from __future__ import annotations

import re

from bot.domain.evidence import Checksum, Fact
from bot.domain.parsers.result import Parsed, read_lines

_LINE = re.compile(r"^(?:\\)?(?P<sum>[0-9a-f]{64}) [ *](?P<path>.+)$")


def parse(text: str, *, year: int | None = None, host: str | None = None,
          expected: bool = False) -> Parsed:
    """Facts: Checksum(path, sha256) per line."""
    def read(line: str) -> Fact | None:
        match = _LINE.match(line)
        return Checksum(path=match["path"], sha256=match["sum"], source="sha256sum") \
            if match else None

    return read_lines(text, read)
