"""Index one compile unit only as far as the addresses asked for need (line rows up to them,
the inline trees of the functions holding them); asking for more extends the same index."""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Callable

from bot.symbols import dwarf_forms as dw
from bot.symbols.dwarf_die import Die, Unit
from bot.symbols.dwarf_ranges import die_ranges
from bot.symbols.dwarf_reader import DwarfReader
from bot.symbols.index_model import Coverage, CuIndex, spans
from bot.symbols.line_header import parse_line_header
from bot.symbols.line_program import LineHeader, LineRows, decode_rows, find_rows
from bot.symbols.scope_walk import Function, ScopeWalker, holds
from bot.symbols.split_dwarf import Skeleton, skeleton_of

AT_LANGUAGE = 0x13
# DW_LANG_* whose names are not mangled: binutils takes their DW_AT_name as the linkage name
_UNMANGLED = frozenset(
    {0x1, 0x2, 0x5, 0x6, 0x7, 0x8, 0x9, 0xA, 0xC, 0xE, 0x10, 0x12, 0x1D, 0x22, 0x23, 0x2C, 0x8001}
)

_PASSES = 4  # single lookups: after this many passes, one decode of every row costs less
SplitOpener = Callable[[Unit, Skeleton], "tuple[DwarfReader, Unit] | None"]


def _top(reader: DwarfReader, unit_offset: int) -> tuple[Unit, Die, bool, int]:
    unit = reader.unit(unit_offset)
    top, abbrev, children = unit.top
    if top is None or abbrev is None:
        return unit, {}, False, children
    return unit, top, abbrev.has_children, children


def unit_ranges(reader: DwarfReader, unit_offset: int) -> list[tuple[int, int]]:
    """Address ranges of a unit's top DIE (low/high pc or DW_AT_ranges)."""
    unit, top, _, _ = _top(reader, unit_offset)
    return die_ranges(reader, unit, top, _base(reader, unit, top))


def _base(reader: DwarfReader, unit: Unit, top: Die) -> int:
    low = top.get(dw.AT_LOW_PC)
    return reader.address(unit, *low) if low is not None else 0


class CuBuilder:
    """One unit's index, grown address by address. A skeleton unit's functions come from its
    split unit (split opens it), its line rows from its own table, as llvm-symbolizer reads them."""

    def __init__(
        self, reader: DwarfReader, unit_offset: int, split: SplitOpener | None = None
    ) -> None:
        unit, top, has_children, children = _top(reader, unit_offset)
        comp = top.get(dw.AT_COMP_DIR)
        comp_dir = reader.string(unit, *comp) if comp is not None else None
        self.files: list[str | None] = []
        self._program: tuple[bytes, int, int, LineHeader] | None = None
        stmt = top.get(dw.AT_STMT_LIST)
        if stmt is not None and reader.s.line:
            header, self.files, start, end = parse_line_header(reader, unit, stmt[1], comp_dir)
            if start < end:
                self._program = (reader.s.line, start, end, header)
        # the line rows answering the addresses asked for, or every row (all_rows) once single
        # lookups have cost a few passes over the program
        self._lines_done = self._program is None
        self._all_rows: LineRows | None = None
        self._rows_at: dict[int, tuple[int, int, int]] = {}
        self._line_spans: list[tuple[int, int]] = []
        self._answered: set[int] = set()
        self._pending: set[int] = set()
        self._passes = 0
        walker = ScopeWalker(reader, unit, _base(reader, unit, top))
        skeleton = skeleton_of(reader, unit, top) if split is not None else None
        opened = split(unit, skeleton) if split is not None and skeleton is not None else None
        if opened is not None:
            split_reader, split_unit = opened
            _, top, has_children, children = _top(split_reader, split_unit.offset)
            walker = ScopeWalker(split_reader, split_unit, walker.base)
        language = top.get(AT_LANGUAGE)
        walker.unmangled = language is not None and language[1] in _UNMANGLED
        self.walker = walker
        self.functions: list[Function] = walker.scan(children) if has_children else []
        self._built = [False] * len(self.functions)
        pieces = sorted(
            (low, high, i) for i, f in enumerate(self.functions) for low, high in f.ranges
        )
        self._lows = [p[0] for p in pieces]
        self._highs = [p[1] for p in pieces]
        self._owner = [p[2] for p in pieces]
        self._reach: list[int] = []  # the highest end among pieces[: i + 1]
        for high in self._highs:
            self._reach.append(max(high, self._reach[-1]) if self._reach else high)
        self.wanted: dict[int, None] = {}
        self._trees: list[int] = []  # addresses whose scopes are not read yet
        self._outside: list[tuple[int, int]] = []  # addresses in no function, all being read
        self._index: CuIndex | None = None

    def cover(self, address: int) -> None:
        """Extend the index so that it answers for address as a whole-unit index would."""
        self.wanted[address] = None
        if not self._lines_done and address not in self._answered:
            self._pending.add(address)  # decoded by index(), with the others asked for
            self._index = None
        if not all(self._built) or self.walker.passed:
            self._trees.append(address)  # read by index(), with the others asked for
            self._index = None

    def _read_trees(self) -> None:
        """Read the trees the addresses pending lie in, down the calls holding them."""
        targets = sorted(set(self._trees))
        self._trees.clear()
        walker = self.walker
        waiting = [f for f in walker.passed if holds(f.ranges, targets)]
        if waiting:
            walker.passed = [f for f in walker.passed if not holds(f.ranges, targets)]
        for function in waiting:
            walker.build(function, [t for t in targets if holds(function.ranges, (t,))])
        by_function: dict[int, list[int]] = {}
        for target in targets:
            holders = self._holders(target)
            if not holders:  # maybe in a function nested in another: read them all
                holders = list(range(len(self.functions)))
            for i in holders:
                if not self._built[i]:
                    by_function.setdefault(i, []).append(target)
        for i, held in sorted(by_function.items()):
            self._built[i] = True
            walker.build(self.functions[i], held)
        # an address no function holds, once all are read, has its (empty) answer
        if all(self._built):
            for target in targets:
                if not self._holders(target) and not holds(
                    [r for f in walker.passed for r in f.ranges], (target,)
                ):
                    self._outside.append((target, target + 1))

    def _decode_lines(self) -> None:
        """One pass over the line program for the addresses pending."""
        assert self._program is not None
        data, start, end, header = self._program
        found = None
        if self._passes < _PASSES:
            self._passes += 1
            found = find_rows(data, start, end, header, list(self._pending))
        if found is None:
            self._all_rows = decode_rows(data, start, end, header)
            self._lines_done = True
        else:
            self._rows_at.update(found.rows)
            self._line_spans.extend(found.spans)
            self._answered.update(self._pending)
        self._pending.clear()

    def _holders(self, address: int) -> list[int]:
        """The functions whose ranges hold address."""
        found = []
        i = bisect_right(self._lows, address) - 1
        while i >= 0 and self._reach[i] > address:
            if self._highs[i] > address:
                found.append(self._owner[i])
            i -= 1
        return found

    def index(self) -> CuIndex:
        if self._index is not None:
            return self._index
        if self._pending:
            self._decode_lines()
        if self._trees:
            self._read_trees()
        rows = self._all_rows
        if rows is None:
            ordered = sorted(self._rows_at.items())
            rows = LineRows(
                array("Q", [address for address, _ in ordered]),
                array("i", [row[0] for _, row in ordered]),
                array("I", [row[1] for _, row in ordered]),
                array("I", [row[2] for _, row in ordered]),
            )
        walker = self.walker
        starts, scope_ids = _segments(walker.ranges, walker.depth, walker.order)
        # read: the functions (nested ones too); not: functions and calls not read yet
        built = [(low, high) for low, high, s in walker.ranges if walker.scopes[s].parent < 0]
        built.extend(self._outside)
        unbuilt = [r for i, f in enumerate(self.functions) if not self._built[i] for r in f.ranges]
        unbuilt.extend(r for f in walker.passed for r in f.ranges)
        coverage = Coverage(
            lines_done=self._lines_done,
            lines=spans(self._line_spans),
            scopes_done=all(self._built) and not walker.passed,
            built=spans(built),
            unbuilt=spans(unbuilt),
            wanted=array("Q", self.wanted),
        )
        self._index = CuIndex(self.files, rows, starts, scope_ids, walker.scopes, coverage)
        return self._index


def _segments(
    ranges: list[tuple[int, int, int]], depth: list[int], order: list[int]
) -> tuple[array, array]:  # type: ignore[type-arg]
    """Cut the address space into segments with one innermost scope each (the deepest one
    covering it; ties go to the later, i.e. more nested, DIE)."""
    starts: array = array("Q")  # type: ignore[type-arg]
    scope_ids: array = array("i")  # type: ignore[type-arg]
    if not ranges:
        return starts, scope_ids
    events: list[tuple[int, int, int]] = []
    for low, high, scope in ranges:
        events.append((low, 1, scope))
        events.append((high, 0, scope))
    events.sort()
    active: dict[int, int] = {}
    i = 0
    count = len(events)
    while i < count:
        position = events[i][0]
        while i < count and events[i][0] == position:
            _, kind, scope = events[i]
            if kind:
                active[scope] = active.get(scope, 0) + 1
            else:
                left = active.get(scope, 0) - 1
                if left > 0:
                    active[scope] = left
                else:
                    active.pop(scope, None)
            i += 1
        best = max(active, key=lambda s: (depth[s], order[s])) if active else -1
        if scope_ids and scope_ids[-1] == best:
            continue
        if starts and starts[-1] == position:
            scope_ids[-1] = best
        else:
            starts.append(position)
            scope_ids.append(best)
    return starts, scope_ids
