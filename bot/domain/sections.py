"""Split a pasted blob into the outputs of the commands in it, using shell prompts when present.

cr0x@server:~$ sudo dmesg -T | tail -n 8        <- a prompt starts a section
[Wed Jan 22 03:11:07 2026] checkout-api[24891]: segfault at ...
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.domain.parsers.registry import is_known_command

# user@host:dir$ CMD, [user@host dir]# CMD, root@host:/# CMD, or a bare "$ CMD" / "# CMD".
_PROMPT = re.compile(
    r"^\s*(?:(?:\[[^\]\n]{1,80}\]|[\w.-]{1,64}@[\w.-]{1,64}(?::[^\s$#]{0,200})?)\s?[$#%>]"
    r"|(?P<bare>[$#%>]|\(gdb\)))\s+(?P<command>\S.*)$"
)


@dataclass(frozen=True)
class Section:
    """One command's output. `parser` (a registry name) routes it directly when known."""

    output: str
    command: str | None = None
    parser: str | None = None
    host: str | None = None


def split_sections(text: str) -> list[Section]:
    sections: list[Section] = []
    command: str | None = None
    lines: list[str] = []
    for line in text.splitlines():
        match = _PROMPT.match(line)
        if match and (not match["bare"] or is_known_command(match["command"])):
            if lines or command is not None:
                sections.append(Section(output="\n".join(lines), command=command))
            command, lines = match["command"].strip(), []
        else:
            lines.append(line)
    if lines or command is not None:
        sections.append(Section(output="\n".join(lines), command=command))
    return sections
