"""Build IDs from `readelf -n`, `file`, and `eu-unstrip -n` (`--core` lists a core's modules)."""

from __future__ import annotations

import re

from bot.domain.evidence import BuildId, Fact
from bot.domain.logline import split_records
from bot.domain.parsers.result import Parsed

_FILE_HEADER = re.compile(r"^File: (?P<path>\S+)$")
_BUILD_ID = re.compile(r"^\s*Build ID: (?P<id>[0-9a-f]{8,128})\s*$")
_NOTE_LINE = re.compile(
    r"^(?:Displaying notes found in:|Owner\s+Data size|GNU\s+0x[0-9a-f]+\s+NT_|"
    r"OS: |Properties: |x86 (?:feature|ISA)|Stapsdt|Provider:|Location:|"
    r"Arguments:|Name:|Version: |Description data:)"
)
_FILE_TOOL = re.compile(r"^(?P<path>[^:]+): ELF .*BuildID\[\w+\]=(?P<id>[0-9a-f]{8,128})")
_UNSTRIP = re.compile(
    r"^0x[0-9a-f]+\+0x[0-9a-f]+ (?P<id>[0-9a-f]{8,128})@0x[0-9a-f]+ "
    r"(?P<file>\S+) (?P<debug>\S+) (?P<name>\S+)$"
)


def parse(
    text: str,
    *,
    year: int | None = None,
    host: str | None = None,
    expected: bool = False,
    path: str | None = None,
) -> Parsed:
    """Facts: BuildId(build_id, path) per note; `path` names the file when the text does not."""
    lines = split_records(text)
    facts: list[Fact] = []
    claimed: set[int] = set()
    current = path
    for index, raw in enumerate(lines):
        line = raw.strip()
        if match := _FILE_HEADER.match(line):
            current = match["path"]
        elif match := _BUILD_ID.match(line):
            facts.append(BuildId(path=current, build_id=match["id"], source="readelf"))
        elif match := _FILE_TOOL.match(line):
            facts.append(BuildId(path=match["path"], build_id=match["id"], source="file"))
        elif match := _UNSTRIP.match(line):
            module = match["file"] if match["file"] not in {"-", "."} else match["name"]
            facts.append(BuildId(path=module, build_id=match["id"], source="eu-unstrip"))
        elif not (_NOTE_LINE.match(line) and (expected or facts)):
            continue
        claimed.add(index)
    return Parsed(facts=tuple(facts), claimed=frozenset(claimed), lines=len(lines))
