"""`ldd BINARY`: which shared libraries resolve where (and which are not found)."""

from __future__ import annotations

import re

from bot.domain.evidence import Fact, SharedLibrary
from bot.domain.parsers.result import Parsed, read_lines

_ARROW = re.compile(r"^(?P<name>\S+) => (?:(?P<path>/\S*)|(?P<missing>not found))"
                    r"(?: \(0x(?P<address>[0-9a-f]+)\))?$")
_DIRECT = re.compile(r"^(?P<path>\S+\.so[.\d]*) \(0x(?P<address>[0-9a-f]+)\)$")
_NOT_DYNAMIC = {"statically linked", "not a dynamic executable"}


def parse(text: str, *, year: int | None = None, host: str | None = None,
          expected: bool = False) -> Parsed:
    """Facts: SharedLibrary(name, path, address, missing) per line."""
    def read(line: str) -> Fact | bool | None:
        if match := _ARROW.match(line):
            return SharedLibrary(
                name=match["name"], path=match["path"], missing=bool(match["missing"]),
                address=int(match["address"], 16) if match["address"] else None, source="ldd")
        if match := _DIRECT.match(line):
            path = match["path"]
            return SharedLibrary(name=path.rsplit("/", 1)[-1],
                                 path=path if path.startswith("/") else None,
                                 address=int(match["address"], 16), source="ldd")
        return (expected and line in _NOT_DYNAMIC) or None

    return read_lines(text, read)
