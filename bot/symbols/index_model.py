"""The per-build-id index as it lives in memory: unit map, symbol table, and per compile unit
its scopes, segments, line rows and where they are complete. Light to import (warm path)."""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from bot.symbols.line_program import LineRows


class Scope(NamedTuple):
    """A function body (parent -1) or an inlined call inside one (parent is the caller scope).
    Stored and loaded as a plain tuple (ScopeRow): warm loads build no objects per scope."""

    name: str | None
    parent: int
    entry: int  # where the function starts: DW_AT_low_pc, else its lowest range
    call_file: int  # index into the unit's files, -1 if unknown
    call_line: int
    call_column: int
    linkage: bool  # the name is a linkage name, or of a language without mangling


ScopeRow = tuple[str | None, int, int, int, int, int, bool]  # the fields of Scope, in order


def spans(pieces: list[tuple[int, int]]) -> array:  # type: ignore[type-arg]
    """Address ranges merged into sorted disjoint ones, flattened: start, end, start, end..."""
    out: array = array("Q")  # type: ignore[type-arg]
    for low, high in sorted(pieces):
        if high <= low:
            continue
        if out and low <= out[-1]:
            out[-1] = max(out[-1], high)
        else:
            out.extend((low, high))
    return out


def inside(flat: array, address: int) -> bool:  # type: ignore[type-arg]
    """Whether address lies in one of the ranges spans() flattened."""
    return bisect_right(flat, address) % 2 == 1


@dataclass(frozen=True, eq=False, repr=False)
class Coverage:
    """Where a unit's index answers as a whole-unit index would: decoded line stretches, and the
    functions read (an address must be in one read and in none unread), unless done."""

    lines_done: bool
    lines: array  # type: ignore[type-arg]  # spans() of the stretches decoded
    scopes_done: bool
    built: array  # type: ignore[type-arg]  # spans() of the functions read
    unbuilt: array  # type: ignore[type-arg]  # spans() of the functions not read
    wanted: array  # type: ignore[type-arg]  # addresses asked for: a rebuild covers them again

    def covers(self, address: int) -> bool:
        if not (self.lines_done or inside(self.lines, address)):
            return False
        if self.scopes_done:
            return True
        return inside(self.built, address) and not inside(self.unbuilt, address)


@dataclass(eq=False, repr=False)
class CuIndex:
    """One compile unit's index: files, line rows, segments with their scopes, coverage."""

    files: list[str | None]
    rows: LineRows
    segment_start: array  # type: ignore[type-arg]  # sorted; a segment runs to the next start
    segment_scope: array  # type: ignore[type-arg]  # innermost scope there, -1 for none
    scopes: Sequence[ScopeRow]
    coverage: Coverage


@dataclass(eq=False, repr=False)
class CuMap:
    """Address ranges of the compile units, sorted by start."""

    low: array  # type: ignore[type-arg]  # sorted
    high: array  # type: ignore[type-arg]
    cu_offset: array  # type: ignore[type-arg]

    def find(self, address: int) -> int:
        """Offset of the unit covering address, or -1."""
        i = bisect_right(self.low, address) - 1
        stop = max(-1, i - 64)  # ranges rarely overlap; look back a little for one that does
        while i > stop:
            if self.high[i] > address:
                return int(self.cu_offset[i])
            i -= 1
        return -1


@dataclass(eq=False, repr=False)
class Symbols:
    """Function symbols sorted by address, each with its size, name and file."""

    address: array  # type: ignore[type-arg]
    size: array  # type: ignore[type-arg]
    names: list[str]
    files: list[str | None]  # the STT_FILE symbol a local function follows (addr2line's file)
    origin: str = ".symtab"  # the table that named them: .symtab, .dynsym or .gnu_debugdata

    def containing(self, address: int) -> int:
        """Index of the function symbol covering address, or -1."""
        i = bisect_right(self.address, address) - 1
        # aliases share an address; the preferred one is first among equals, so step back
        while i > 0 and self.address[i - 1] == self.address[i]:
            i -= 1
        if i < 0:
            return -1
        start = self.address[i]
        size = self.size[i]
        if start <= address < start + size or size == 0:
            return i  # a symbol without a size (assembly) runs to the next one, as addr2line has it
        return -1
