"""Decoding DIEs straight from `.debug_info`: one DIE's attributes, and walks over a DIE's
children that jump over unwanted subtrees without decoding them."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from bot.symbols.dwarf_abbrev import ENTER, JUMP, SIBLING, SKIP, Abbrev, AbbrevTable, Step, plan
from bot.symbols.dwarf_forms import (
    AT_SIBLING,
    FIXED_SIZE,
    OFFSET_FORMS,
    REF_FORMS,
    ULEB_FORMS,
)
from bot.symbols.leb128 import sleb, uleb
from bot.symbols.sections import Sections

Die = dict[int, tuple[int, Any]]  # attribute -> (form, raw value)


@dataclass(eq=False, repr=False)
class Unit:
    """One unit's header: where it lies, its format, abbreviations and attribute bases."""

    offset: int
    end: int
    version: int
    offset_size: int
    address_size: int
    die_offset: int
    abbrevs: AbbrevTable
    base: dict[int, int] = field(default_factory=dict)  # str_offsets/addr/rnglists bases
    dwo_id: int | None = None  # DWARF 5 skeleton and split units name their .dwo by it
    top: tuple[Die | None, Abbrev | None, int] = (None, None, 0)  # its first DIE, as die() reads it


_NO_ATTRIBUTES: Die = {}  # what children() yields for a container; never written to


def _forward(here: int, target: int) -> int:
    """A DW_AT_sibling target, which must lie after the DIE (else corrupt DWARF would loop)."""
    if target <= here:
        raise ValueError(f"DW_AT_sibling at {here:#x} points backwards to {target:#x}")
    return target


class DieDecoder:
    """DIE decoding over a unit's bytes in `.debug_info`."""

    s: Sections

    def die(self, unit: Unit, pos: int) -> tuple[Die | None, Abbrev | None, int]:
        """(attributes, abbreviation, offset after the DIE); (None, None, next) for a null."""
        data = self.s.info
        code = data[pos]
        if code < 0x80:
            pos += 1
        else:
            code, pos = uleb(data, pos)
        if code == 0:
            return None, None, pos
        abbrev = unit.abbrevs[code]
        attrs, pos = self.attributes(unit, abbrev, pos)
        return attrs, abbrev, pos

    def attributes(self, unit: Unit, abbrev: Abbrev, pos: int) -> tuple[Die, int]:
        """A DIE's attributes, pos just after its abbreviation code; and where they end."""
        data = self.s.info
        steps = abbrev.steps
        if steps is None:
            steps = plan(abbrev, unit.abbrevs.sizes)
        attrs: Die = dict(abbrev.consts)
        for run, keys, forms in steps:
            if run is not None:
                values = run.unpack_from(data, pos)
                attrs.update(zip(keys, zip(forms, values, strict=True), strict=True))
                pos += run.size
            else:
                attrs[keys], pos = self._value(unit, forms, pos)
        return attrs, pos

    def _value(self, unit: Unit, form: int, pos: int) -> tuple[tuple[int, Any], int]:
        """(form, value) of one attribute whose form a decoding plan does not read in a run."""
        data = self.s.info
        if form == 0x16:  # indirect
            form, pos = uleb(data, pos)
        if form in FIXED_SIZE:
            size = FIXED_SIZE[form]
            value: Any = int.from_bytes(data[pos : pos + size], "little") if size else 1
            return (form, value), pos + size
        if form in ULEB_FORMS:
            value, pos = uleb(data, pos)
        elif form in OFFSET_FORMS:
            value = int.from_bytes(data[pos : pos + unit.offset_size], "little")
            pos += unit.offset_size
        elif form == 0x01:  # addr
            value = int.from_bytes(data[pos : pos + unit.address_size], "little")
            pos += unit.address_size
        elif form == 0x08:  # inline string
            end = data.index(b"\0", pos)
            value = data[pos:end]
            pos = end + 1
        elif form == 0x0D:
            value, pos = sleb(data, pos)
        elif form == 0x10:  # ref_addr
            size = unit.address_size if unit.version <= 2 else unit.offset_size
            value = int.from_bytes(data[pos : pos + size], "little")
            pos += size
        else:
            return (form, None), self._skip_value(unit, form, pos)
        return (form, value), pos

    def _skip_value(self, unit: Unit, form: int, pos: int) -> int:
        data = self.s.info
        if form == 0x16:
            form, pos = uleb(data, pos)
        size = FIXED_SIZE.get(form)
        if size is not None:
            return pos + size
        if form in ULEB_FORMS or form == 0x0D:
            while data[pos] & 0x80:
                pos += 1
            return pos + 1
        if form in OFFSET_FORMS:
            return pos + unit.offset_size
        if form == 0x01:
            return pos + unit.address_size
        if form == 0x08:
            return data.index(b"\0", pos) + 1
        if form == 0x10:
            return pos + (unit.address_size if unit.version <= 2 else unit.offset_size)
        if form in (0x09, 0x18):  # block, exprloc
            length, pos = uleb(data, pos)
            return pos + length
        if form in (0x0A, 0x03, 0x04):  # block1/2/4
            width = {0x0A: 1, 0x03: 2, 0x04: 4}[form]
            return pos + width + int.from_bytes(data[pos : pos + width], "little")
        raise ValueError(f"unknown DWARF form {form:#x} at {pos:#x}")

    def skip_die(self, unit: Unit, abbrev: Abbrev, pos: int) -> tuple[int, int]:
        """(end of the DIE's attributes, its unit-relative DW_AT_sibling or -1) without decoding;
        pos is just after the abbreviation code."""
        data = self.s.info
        start = pos
        steps = abbrev.steps
        if steps is None:
            steps = plan(abbrev, unit.abbrevs.sizes)
        for run, _, form in steps:
            if run is not None:
                pos += run.size
            else:
                pos = self._skip_value(unit, form, pos)
        if not abbrev.has_children:
            return pos, -1
        if abbrev.sibling_at >= 0:
            at = start + abbrev.sibling_at
        elif abbrev.sibling_back >= 0:
            at = pos - abbrev.sibling_back
        else:  # no ref4 sibling where a fixed offset finds it: look for it step by step
            return pos, self._sibling(unit, steps, start)
        return pos, int.from_bytes(data[at : at + 4], "little")

    def _sibling(self, unit: Unit, steps: tuple[Step, ...], pos: int) -> int:
        """The unit-relative DW_AT_sibling of the DIE whose attributes start at pos, or -1."""
        for run, keys, forms in steps:
            if run is not None:
                if AT_SIBLING in keys:
                    i = keys.index(AT_SIBLING)
                    return run.unpack_from(self.s.info, pos)[i] if forms[i] in REF_FORMS else -1
                pos += run.size
            elif keys == AT_SIBLING:
                (form, value), _ = self._value(unit, forms, pos)
                return value if form in REF_FORMS and isinstance(value, int) else -1
            else:
                pos = self._skip_value(unit, forms, pos)
        return -1

    def children(
        self,
        unit: Unit,
        pos: int,
        wanted: frozenset[int],
        code_only: frozenset[int] = frozenset(),
    ) -> Generator[tuple[int, Die, Abbrev, int], int | None, int]:
        """(offset, attributes, abbrev, children start) of each child in wanted (code_only ones with
        addresses; others with children, attributes unread); send the end of children walked."""
        data = self.s.info
        abbrevs = unit.abbrevs
        actions = abbrevs.actions(wanted, code_only)
        end, base = unit.end, unit.offset
        while pos < end:
            offset = pos
            code = data[pos]
            after = pos + 1  # after the abbreviation code
            if code >= 0x80:  # big units use two-byte codes: decode them here too
                code, after = uleb(data, pos)
            elif code == 0:
                return pos + 1
            kind, size = actions.get(code) or abbrevs.action(code, wanted, code_only)
            if kind == JUMP:
                pos = after + size
                continue
            if kind == SIBLING:
                at = after + size
                pos = _forward(offset, base + int.from_bytes(data[at : at + 4], "little"))
                continue
            abbrev = abbrevs[code]
            if kind == SKIP:
                pos, sibling = self.skip_die(unit, abbrev, after)
                if sibling >= 0:
                    pos = _forward(offset, base + sibling)
                elif abbrev.has_children:
                    pos = self.skip_children(unit, pos)
                continue
            if kind == ENTER:  # a container: its children matter, not its attributes
                inside, sibling = self.skip_die(unit, abbrev, after)
                walked = yield offset, _NO_ATTRIBUTES, abbrev, inside
                if walked is not None:
                    pos = walked
                elif sibling >= 0:
                    pos = _forward(offset, base + sibling)
                else:
                    pos = self.skip_children(unit, inside)
                continue
            attrs, pos = self.attributes(unit, abbrev, after)
            walked = yield offset, attrs, abbrev, pos
            if abbrev.has_children:
                link = attrs.get(AT_SIBLING)
                if walked is not None:
                    pos = walked
                elif link is not None and link[0] in REF_FORMS:
                    pos = _forward(offset, base + link[1])
                else:
                    pos = self.skip_children(unit, pos)
        return pos

    def skip_children(self, unit: Unit, pos: int) -> int:
        data = self.s.info
        abbrevs = unit.abbrevs
        depth = 1
        while depth and pos < unit.end:
            code = data[pos]
            if code == 0:
                depth -= 1
                pos += 1
                continue
            if code < 0x80:
                abbrev = abbrevs[code]
                if abbrev.sibling_at >= 0:
                    at = pos + 1 + abbrev.sibling_at
                    pos = _forward(pos, unit.offset + int.from_bytes(data[at : at + 4], "little"))
                    continue
                if abbrev.fixed_size >= 0:
                    pos += 1 + abbrev.fixed_size
                    depth += abbrev.has_children
                    continue
            start = pos
            code, pos = uleb(data, pos)
            found = abbrevs[code]
            pos, sibling = self.skip_die(unit, found, pos)
            if found.has_children:
                if sibling >= 0:
                    pos = _forward(start, unit.offset + sibling)
                else:
                    depth += 1
        return pos
