"""Every parser by name, the commands whose output it reads, and whether it can spot its own
lines in a blob of unknown origin."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from bot.domain.parsers import (
    core_pattern,
    coredump_conf,
    coredumpctl_dump,
    coredumpctl_info,
    coredumpctl_list,
    df,
    gdb,
    gdb_mappings,
    journal,
    kernel,
    ldd,
    readelf_notes,
    sha256sum,
    systemctl_show,
    ulimit,
    uname,
    virt,
)
from bot.domain.parsers.result import Parsed


class ParseFunction(Protocol):
    def __call__(
        self, text: str, *, year: int | None = ..., host: str | None = ..., expected: bool = ...
    ) -> Parsed: ...


@dataclass(frozen=True)
class ParserSpec:
    name: str
    parse: ParseFunction
    # Self-identifying parsers recognise their own lines anywhere; the others (a bare `0`
    # from `ulimit -c`, a bare path from `coredumpctl dump`) need to know what command ran.
    self_identifying: bool = True


PARSERS: dict[str, ParserSpec] = {
    spec.name: spec
    for spec in (
        ParserSpec("kernel", kernel.parse),
        ParserSpec("journal", journal.parse),
        ParserSpec("coredumpctl_list", coredumpctl_list.parse),
        ParserSpec("coredumpctl_info", coredumpctl_info.parse),
        ParserSpec("coredumpctl_dump", coredumpctl_dump.parse, self_identifying=False),
        ParserSpec("readelf_notes", readelf_notes.parse),
        ParserSpec("gdb", gdb.parse),
        ParserSpec("gdb_mappings", gdb_mappings.parse),
        ParserSpec("ulimit", ulimit.parse),
        ParserSpec("coredump_conf", coredump_conf.parse),
        ParserSpec("systemctl_show", systemctl_show.parse),
        ParserSpec("ldd", ldd.parse),
        ParserSpec("df", df.parse),
        ParserSpec("core_pattern", core_pattern.parse),
        ParserSpec("uname", uname.parse),
        ParserSpec("sha256sum", sha256sum.parse),
        ParserSpec("virt", virt.parse, self_identifying=False),
    )
}
PARSER_NAMES = frozenset(PARSERS)
SELF_IDENTIFYING = tuple(spec for spec in PARSERS.values() if spec.self_identifying)

_WRAPPERS = {"sudo", "env", "command", "exec", "nice", "ionice", "timeout", "doas", "time"}


def parsers_for_command(command: str) -> tuple[str, ...]:
    """The parsers for the output of a shell command line, as typed at a prompt."""
    words = _words(command.split("|")[0])
    if not words:
        return ()
    program, args = words[0].rsplit("/", 1)[-1], words[1:]
    joined = " ".join(words)
    if program == "dmesg":
        return ("kernel",)
    if program == "journalctl":
        return ("kernel", "journal") if {"-k", "--dmesg"} & set(args) else ("journal", "kernel")
    if program == "coredumpctl":
        verb = next((a for a in args if not a.startswith("-")), "list")
        return {
            "list": ("coredumpctl_list",),
            "info": ("coredumpctl_info",),
            "dump": ("coredumpctl_dump",),
            "debug": ("coredumpctl_info", "gdb"),
            "gdb": ("coredumpctl_info", "gdb"),
        }.get(verb, ("coredumpctl_list",))
    if program in {"readelf", "eu-readelf", "file", "eu-unstrip"}:
        return ("readelf_notes",)
    if program == "gdb":
        return ("gdb", "gdb_mappings")
    if program == "ulimit" or (program in {"cat", "prlimit"} and "limits" in joined):
        return ("ulimit",)
    if "coredump.conf" in joined:
        return ("coredump_conf",)
    if "core_pattern" in joined:
        return ("core_pattern",)
    if program == "systemctl":
        return ("systemctl_show",) if "show" in args else ("journal",)
    simple = {"ldd": "ldd", "df": "df", "uname": "uname", "sha256sum": "sha256sum",
              "systemd-detect-virt": "virt"}
    return (simple[program],) if program in simple else ()


def command_subject(command: str) -> str | None:
    """What a command is about: its last operand (`readelf -n /opt/x | grep` -> `/opt/x`)."""
    words = _words(command.split("|")[0])
    operands = [w for w in words[1:] if not w.startswith("-")]
    units = [w for w in operands if w.endswith((".service", ".scope", ".socket"))]
    paths = [w for w in operands if w.startswith("/")]
    candidates = units or paths or operands
    return candidates[0] if candidates else None


def is_known_command(command: str) -> bool:
    words = _words(command)
    return bool(words) and (
        bool(parsers_for_command(command))
        or words[0] in {"tail", "head", "grep", "cat", "ls", "cd", "less"}
    )


def _words(command: str) -> list[str]:
    return list(_split(command))


@lru_cache(maxsize=1024)
def _split(command: str) -> tuple[str, ...]:
    """Split once per command text: shlex is slow and a fleet sends the same commands."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    while words and (
        words[0] in _WRAPPERS
        or re.match(r"^\w+=", words[0])
        or (words[0].startswith("-") and len(words) > 1)
    ):
        words = words[1:]
    return tuple(words)
