"""The functions and inlined calls of one compile unit, read function by function: a scan finds
the top-level functions and their ranges, and only the trees of those asked for are read, down
the calls holding the addresses asked for (the others are passed over until asked for)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.symbols import dwarf_forms as dw
from bot.symbols.demangle import demangle
from bot.symbols.dwarf_abbrev import Abbrev
from bot.symbols.dwarf_alt import ALT_REF_FORMS
from bot.symbols.dwarf_die import Die, Unit
from bot.symbols.dwarf_ranges import die_ranges
from bot.symbols.dwarf_reader import DwarfReader
from bot.symbols.index_model import Scope

TAG_LEXICAL_BLOCK, TAG_INLINED, TAG_SUBPROGRAM = 0x0B, 0x1D, 0x2E
_WALK_INTO = frozenset({TAG_LEXICAL_BLOCK, 0x39, 0x32, 0x25, 0x1E})  # blocks, namespace, module
_CODE_ONLY = frozenset({TAG_SUBPROGRAM, TAG_INLINED})  # declarations and abstract ones: skipped
_WANTED = _WALK_INTO | _CODE_ONLY


@dataclass(frozen=True, eq=False, repr=False)
class Function:
    """A function or inlined call with code whose tree is not read yet: a top-level function
    the scan found, or one a walk passed over (it held none of the addresses asked for)."""

    offset: int
    attrs: Die
    abbrev: Abbrev
    inside: int  # where its children start
    ranges: list[tuple[int, int]]
    parent: int = -1  # the scope it lies in


def holds(ranges: list[tuple[int, int]], addresses: Sequence[int]) -> bool:
    return any(low <= address < high for low, high in ranges for address in addresses)


class ScopeWalker:
    def __init__(self, reader: DwarfReader, unit: Unit, base: int) -> None:
        self.reader = reader
        self.unit = unit
        self.base = base
        self.scopes: list[Scope] = []
        self.ranges: list[tuple[int, int, int]] = []  # (low, high, scope)
        self.depth: list[int] = []
        self.order: list[int] = []  # DIE offsets: of equally deep scopes the later wins
        self._names: dict[int, tuple[str | None, bool]] = {}
        self.unmangled = False
        self.passed: list[Function] = []  # calls and nested functions walks passed over

    def scan(self, pos: int) -> list[Function]:
        """The functions with code among the children of the DIE whose children start at pos,
        looking into namespaces and the like (not into functions)."""
        found: list[Function] = []
        self._visit(pos, -1, found)
        return found

    def build(self, function: Function, targets: Sequence[int]) -> None:
        """Add a function found by scan or passed over, and the scopes inside it that hold one
        of the target addresses (the others are passed over: `passed`)."""
        f = function
        self._add(f.offset, f.attrs, f.abbrev, f.inside, f.ranges, f.parent, targets)

    def _visit(
        self, pos: int, parent: int, found: list[Function] | None, targets: Sequence[int] = ()
    ) -> int:
        """Visit the children at pos, into blocks and namespaces: a scan (found given) collects the
        functions, a walk adds those holding a target under parent; returns where they end."""
        reader, unit, base = self.reader, self.unit, self.base
        walk = reader.children(unit, pos, _WANTED, _CODE_ONLY)
        end: int | None = None
        try:
            while True:
                offset, attrs, abbrev, inside = walk.send(end)
                end = None
                if abbrev.tag in _CODE_ONLY:
                    ranges = die_ranges(reader, unit, attrs, base)
                    if not ranges:  # a declaration or an abstract instance: no code of its own
                        continue
                    if found is not None:
                        found.append(Function(offset, attrs, abbrev, inside, ranges))
                    elif holds(ranges, targets):
                        end = self._add(offset, attrs, abbrev, inside, ranges, parent, targets)
                    else:
                        self.passed.append(Function(offset, attrs, abbrev, inside, ranges, parent))
                elif abbrev.has_children:  # a block, namespace or module
                    end = self._visit(inside, parent, found, targets)
        except StopIteration as done:
            return int(done.value)

    def _add(
        self,
        offset: int,
        attrs: Die,
        abbrev: Abbrev,
        inside: int,
        ranges: list[tuple[int, int]],
        parent: int,
        targets: Sequence[int],
    ) -> int | None:
        reader, unit = self.reader, self.unit
        inline = abbrev.tag == TAG_INLINED
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
        self.order.append(offset)
        self.ranges.extend((lo, hi, index) for lo, hi in ranges)
        return self._visit(inside, index, None, targets) if abbrev.has_children else None

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
