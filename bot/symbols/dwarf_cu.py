"""Index one compile unit with pyelftools: the tree of functions and inlined calls (with their
address ranges) flattened into address segments, and the unit's line rows and file names.

Only subprograms, inlined subroutines, lexical blocks and namespaces are visited; every other
subtree (types, variables) is skipped through DW_AT_sibling, so a unit costs little more than its
functions."""

from __future__ import annotations

import posixpath
from array import array
from dataclasses import dataclass
from typing import Any

from bot.symbols.demangle import demangle
from bot.symbols.line_program import LineHeader, LineRows, decode_rows

_SCOPE_TAGS = frozenset({"DW_TAG_subprogram", "DW_TAG_inlined_subroutine"})
_WALK_INTO = frozenset(
    {
        "DW_TAG_lexical_block",
        "DW_TAG_namespace",
        "DW_TAG_try_block",
        "DW_TAG_catch_block",
        "DW_TAG_module",
    }
)
_ADDRESS_FORMS = frozenset(
    {
        "DW_FORM_addr",
        "DW_FORM_addrx",
        "DW_FORM_addrx1",
        "DW_FORM_addrx2",
        "DW_FORM_addrx3",
        "DW_FORM_addrx4",
        "DW_FORM_GNU_addr_index",
    }
)


@dataclass(frozen=True)
class Scope:
    """A function body (parent -1) or an inlined call inside one (parent is the caller scope)."""

    name: str | None
    parent: int
    entry: int  # where the function starts: DW_AT_low_pc, else its lowest range
    call_file: int  # index into the unit's files, -1 if unknown
    call_line: int
    call_column: int


@dataclass
class CuIndex:
    files: list[str | None]
    rows: LineRows
    segment_start: array  # type: ignore[type-arg]  # sorted; a segment runs to the next start
    segment_scope: array  # type: ignore[type-arg]  # innermost scope there, -1 for none
    scopes: list[Scope]


def index_cu(dwarf: Any, cu: Any, line_data: bytes) -> CuIndex:
    top = cu.get_top_DIE()
    comp_dir = _text(top.attributes.get("DW_AT_comp_dir"))
    files: list[str | None] = []
    rows = LineRows(array("Q"), array("i"), array("I"), array("I"))
    if "DW_AT_stmt_list" in top.attributes and dwarf.debug_line_sec is not None:
        program = dwarf.line_program_for_CU(cu)
        if program is not None:
            files = _file_names(program.header, comp_dir)
            header = LineHeader(
                version=program.header["version"],
                min_inst_length=program.header["minimum_instruction_length"],
                default_is_stmt=bool(program.header["default_is_stmt"]),
                line_base=program.header["line_base"],
                line_range=program.header["line_range"],
                opcode_base=program.header["opcode_base"],
                standard_opcode_lengths=tuple(program.header["standard_opcode_lengths"]),
                address_size=cu["address_size"],
            )
            rows = decode_rows(
                line_data, program.program_start_offset, program.program_end_offset, header
            )
    walker = _ScopeWalker(dwarf, cu, top)
    walker.walk(top, -1)
    starts, scope_ids = _segments(walker.ranges, walker.depth)
    return CuIndex(files, rows, starts, scope_ids, walker.scopes)


def _text(attr: Any) -> str | None:
    if attr is None or not isinstance(attr.value, bytes):
        return None
    return str(attr.value.decode("utf-8", "replace"))


def _file_names(header: Any, comp_dir: str | None) -> list[str | None]:
    version = header["version"]
    dirs = [
        d.decode("utf-8", "replace") if isinstance(d, bytes) else None
        for d in header["include_directory"]
    ]
    names: list[str | None] = [] if version >= 5 else [None]
    for entry in header["file_entry"]:
        name = entry.name.decode("utf-8", "replace") if isinstance(entry.name, bytes) else None
        if name is None:
            names.append(None)
            continue
        index = entry.dir_index
        if version >= 5:
            directory = dirs[index] if index < len(dirs) else None
        else:
            directory = (
                comp_dir if index == 0 else (dirs[index - 1] if index <= len(dirs) else None)
            )
        names.append(_join(comp_dir, directory, name))
    return names


def _join(comp_dir: str | None, directory: str | None, name: str) -> str:
    if posixpath.isabs(name):
        return name
    if directory and not posixpath.isabs(directory) and comp_dir:
        directory = posixpath.join(comp_dir, directory)
    return posixpath.join(directory, name) if directory else name


class _ScopeWalker:
    def __init__(self, dwarf: Any, cu: Any, top: Any) -> None:
        self.dwarf = dwarf
        self.cu = cu
        self.base = top.attributes["DW_AT_low_pc"].value if "DW_AT_low_pc" in top.attributes else 0
        self.scopes: list[Scope] = []
        self.ranges: list[tuple[int, int, int]] = []  # (low, high, scope)
        self.depth: list[int] = []
        self._names: dict[int, str | None] = {}

    def walk(self, die: Any, parent: int) -> None:
        for child in die.iter_children():
            tag = child.tag
            if tag in _SCOPE_TAGS:
                ranges = self._ranges(child)
                if not ranges:
                    continue  # a declaration or an abstract instance: no code of its own
                inline = tag == "DW_TAG_inlined_subroutine"
                attrs = child.attributes
                low = attrs["DW_AT_low_pc"].value if "DW_AT_low_pc" in attrs else None
                scope = Scope(
                    name=self._name(child),
                    parent=parent if inline else -1,
                    entry=low if low is not None else min(r[0] for r in ranges),
                    call_file=attrs["DW_AT_call_file"].value
                    if inline and "DW_AT_call_file" in attrs
                    else -1,
                    call_line=attrs["DW_AT_call_line"].value
                    if inline and "DW_AT_call_line" in attrs
                    else 0,
                    call_column=attrs["DW_AT_call_column"].value
                    if inline and "DW_AT_call_column" in attrs
                    else 0,
                )
                index = len(self.scopes)
                self.scopes.append(scope)
                self.depth.append(self.depth[parent] + 1 if inline and parent >= 0 else 0)
                self.ranges.extend((lo, hi, index) for lo, hi in ranges)
                if child.has_children:
                    self.walk(child, index)
            elif tag in _WALK_INTO and child.has_children:
                self.walk(child, parent)

    def _ranges(self, die: Any) -> list[tuple[int, int]]:
        attrs = die.attributes
        if "DW_AT_low_pc" in attrs and "DW_AT_high_pc" in attrs:
            low = attrs["DW_AT_low_pc"].value
            high_attr = attrs["DW_AT_high_pc"]
            high = high_attr.value if high_attr.form in _ADDRESS_FORMS else low + high_attr.value
            return [(low, high)] if high > low else []
        if "DW_AT_ranges" in attrs:
            return self._range_list(die, attrs["DW_AT_ranges"].value)
        return []

    def _range_list(self, die: Any, offset: int) -> list[tuple[int, int]]:
        lists = self.dwarf.range_lists()
        if lists is None:
            return []
        entries = lists.get_range_list_at_offset(offset, cu=self.cu)
        base = self.base
        out: list[tuple[int, int]] = []
        for entry in entries:
            if hasattr(entry, "base_address"):
                base = entry.base_address
            elif entry.is_absolute:
                if entry.end_offset > entry.begin_offset:
                    out.append((entry.begin_offset, entry.end_offset))
            elif entry.end_offset > entry.begin_offset:
                out.append((base + entry.begin_offset, base + entry.end_offset))
        return out

    def _name(self, die: Any) -> str | None:
        """The linkage name demangled when there is one (as addr2line -C), else DW_AT_name,
        following abstract_origin and specification links."""
        seen = 0
        current = die
        plain: str | None = None
        while current is not None and seen < 8:
            key = current.offset
            if key in self._names:
                cached = self._names[key]
                return cached if cached is not None else plain
            attrs = current.attributes
            for attr_name in ("DW_AT_linkage_name", "DW_AT_MIPS_linkage_name"):
                if attr_name in attrs:
                    linkage = _text(attrs[attr_name])
                    if linkage:
                        result = demangle(linkage)
                        self._names[die.offset] = result
                        return result
            if plain is None:
                plain = _text(attrs.get("DW_AT_name"))
            nxt = None
            for link in ("DW_AT_abstract_origin", "DW_AT_specification"):
                if link in attrs:
                    try:
                        nxt = current.get_DIE_from_attribute(link)
                    except Exception:  # a dangling or unsupported reference: keep what we have
                        nxt = None
                    break
            current = nxt
            seen += 1
        self._names[die.offset] = plain
        return plain


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


def unit_ranges(dwarf: Any, cu: Any) -> list[tuple[int, int]]:
    """Address ranges of a unit's top DIE (low/high pc or DW_AT_ranges)."""
    top = cu.get_top_DIE()
    return _ScopeWalker(dwarf, cu, top)._ranges(top)
