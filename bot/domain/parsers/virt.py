"""`systemd-detect-virt --container`: which container technology the host runs in, if any."""

from __future__ import annotations

import re

from bot.domain.evidence import Container
from bot.domain.parsers.result import Parsed, read_lines

_NAME = re.compile(r"^[a-z][a-z0-9_-]{1,31}$")


def parse(text: str, *, year: int | None = None, host: str | None = None,
          expected: bool = False) -> Parsed:
    """Facts: Container(name) when the host is one ("none" is no container). A bare word
    means nothing unless we know this command printed it."""
    if not expected:
        return Parsed()

    def read(line: str) -> Container | bool | None:
        if line == "none":
            return True
        return Container(name=line, source="systemd-detect-virt") if _NAME.match(line) else None

    return read_lines(text, read)
