"""Index one compile unit: the tree of functions and inlined calls (with their address ranges)
flattened into address segments, plus the unit's line rows and file names.

Only subprograms, inlined subroutines, lexical blocks and namespaces are visited; every other
subtree (types, variables) is jumped over through DW_AT_sibling, so a unit costs little more
than its functions."""

from __future__ import annotations

from array import array
from collections.abc import Callable

from bot.symbols import dwarf_forms as dw
from bot.symbols.demangle import demangle
from bot.symbols.dwarf_alt import ALT_REF_FORMS
from bot.symbols.dwarf_die import Die, Unit
from bot.symbols.dwarf_ranges import die_ranges
from bot.symbols.dwarf_reader import DwarfReader
from bot.symbols.index_model import CuIndex, Scope
from bot.symbols.line_header import parse_line_header
from bot.symbols.line_program import LineRows, decode_rows
from bot.symbols.split_dwarf import Skeleton, skeleton_of

TAG_LEXICAL_BLOCK, TAG_INLINED, TAG_SUBPROGRAM = 0x0B, 0x1D, 0x2E
_WALK_INTO = frozenset({TAG_LEXICAL_BLOCK, 0x39, 0x32, 0x25, 0x1E})  # blocks, namespace, module
_WANTED = _WALK_INTO | {TAG_SUBPROGRAM, TAG_INLINED}
AT_LANGUAGE = 0x13
# DW_LANG_* whose names are not mangled: binutils takes their DW_AT_name as the linkage name
_UNMANGLED = frozenset(
    {0x1, 0x2, 0x5, 0x6, 0x7, 0x8, 0x9, 0xA, 0xC, 0xE, 0x10, 0x12, 0x1D, 0x22, 0x23, 0x2C, 0x8001}
)


def _top(reader: DwarfReader, unit_offset: int) -> tuple[Unit, Die, bool, int]:
    unit = reader.unit(unit_offset)
    top, abbrev, children = reader.die(unit, unit.die_offset)
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


SplitOpener = Callable[[Unit, Skeleton], "tuple[DwarfReader, Unit] | None"]


def index_cu(reader: DwarfReader, unit_offset: int, split: SplitOpener | None = None) -> CuIndex:
    """A skeleton unit's functions come from its split unit (split opens it), its line rows
    from the skeleton's own line table, as llvm-symbolizer reads them."""
    unit, top, has_children, children = _top(reader, unit_offset)
    comp = top.get(dw.AT_COMP_DIR)
    comp_dir = reader.string(unit, *comp) if comp is not None else None
    files: list[str | None] = []
    rows = LineRows(array("Q"), array("i"), array("I"), array("I"))
    stmt = top.get(dw.AT_STMT_LIST)
    if stmt is not None and reader.s.line:
        header, files, start, end = parse_line_header(reader, unit, stmt[1], comp_dir)
        rows = decode_rows(reader.s.line, start, end, header)
    walker = _ScopeWalker(reader, unit, _base(reader, unit, top))
    skeleton = skeleton_of(reader, unit, top) if split is not None else None
    opened = split(unit, skeleton) if split is not None and skeleton is not None else None
    if opened is not None:
        split_reader, split_unit = opened
        _, top, has_children, children = _top(split_reader, split_unit.offset)
        walker = _ScopeWalker(split_reader, split_unit, walker.base)
    language = top.get(AT_LANGUAGE)
    walker.unmangled = language is not None and language[1] in _UNMANGLED
    if has_children:
        walker.walk(children, -1)
    starts, scope_ids = _segments(walker.ranges, walker.depth)
    return CuIndex(files, rows, starts, scope_ids, walker.scopes)


class _ScopeWalker:
    def __init__(self, reader: DwarfReader, unit: Unit, base: int) -> None:
        self.reader = reader
        self.unit = unit
        self.base = base
        self.scopes: list[Scope] = []
        self.ranges: list[tuple[int, int, int]] = []  # (low, high, scope)
        self.depth: list[int] = []
        self._names: dict[int, tuple[str | None, bool]] = {}
        self.unmangled = False

    def walk(self, pos: int, parent: int) -> None:
        reader, unit = self.reader, self.unit
        for offset, attrs, abbrev, inside in reader.children(unit, pos, _WANTED):
            tag = abbrev.tag
            if tag in (TAG_SUBPROGRAM, TAG_INLINED):
                ranges = die_ranges(reader, unit, attrs, self.base)
                if not ranges:
                    continue  # a declaration or an abstract instance: no code of its own
                inline = tag == TAG_INLINED
                low = attrs.get(dw.AT_LOW_PC)
                call_file = attrs.get(dw.AT_CALL_FILE) if inline else None
                call_line = attrs.get(dw.AT_CALL_LINE) if inline else None
                call_column = attrs.get(dw.AT_CALL_COLUMN) if inline else None
                name, linkage = self._name(unit, offset, attrs)
                scope = Scope(
                    name=name,
                    parent=parent if inline else -1,
                    entry=reader.address(unit, *low) if low is not None else ranges[0][0],
                    call_file=call_file[1] if call_file is not None else -1,
                    call_line=call_line[1] if call_line is not None else 0,
                    call_column=call_column[1] if call_column is not None else 0,
                    linkage=linkage or self.unmangled,
                )
                index = len(self.scopes)
                self.scopes.append(scope)
                self.depth.append(self.depth[parent] + 1 if inline and parent >= 0 else 0)
                self.ranges.extend((lo, hi, index) for lo, hi in ranges)
                if abbrev.has_children:
                    self.walk(inside, index)
            elif tag in _WALK_INTO and abbrev.has_children:
                self.walk(inside, parent)

    def _name(self, unit: Unit, offset: int, attrs: Die) -> tuple[str | None, bool]:
        """The linkage name demangled when there is one (as addr2line -C), else DW_AT_name,
        following abstract_origin and specification links; and whether it was a linkage name."""
        if offset in self._names:
            return self._names[offset]
        plain: str | None = None
        result: str | None = None
        reader, current_unit, current = self.reader, unit, attrs
        for _ in range(8):
            linkage = current.get(dw.AT_LINKAGE_NAME) or current.get(dw.AT_MIPS_LINKAGE_NAME)
            if linkage is not None:
                text = reader.string(current_unit, *linkage)
                if text:
                    result = demangle(text)
                    break
            if plain is None and dw.AT_NAME in current:
                plain = reader.string(current_unit, *current[dw.AT_NAME])
            link = current.get(dw.AT_ABSTRACT_ORIGIN) or current.get(dw.AT_SPECIFICATION)
            if link is None:
                break
            if link[0] in ALT_REF_FORMS:  # the DIE lives in the dwz supplementary file
                if reader.alt is None:
                    break
                reader, target = reader.alt, link[1]
                current_unit = reader.unit_containing(target)
            else:
                found_at = reader.reference(current_unit, *link)
                if found_at is None:
                    break
                target = found_at
                if not current_unit.offset <= target < current_unit.end:
                    current_unit = reader.unit_containing(target)
            found = reader.die(current_unit, target)[0]
            if found is None:
                break
            current = found
        named = (result, True) if result is not None else (plain, False)
        self._names[offset] = named
        return named


def _segments(ranges: list[tuple[int, int, int]], depth: list[int]) -> tuple[array, array]:  # type: ignore[type-arg]
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
        best = max(active, key=lambda s: (depth[s], s)) if active else -1
        if scope_ids and scope_ids[-1] == best:
            continue
        if starts and starts[-1] == position:
            scope_ids[-1] = best
        else:
            starts.append(position)
            scope_ids.append(best)
    return starts, scope_ids
