"""Decoding DWARF DIEs straight from `.debug_info`: one DIE's attributes, and walks over a DIE's
children that jump over unwanted subtrees (DW_AT_sibling, or fixed attribute sizes per
abbreviation) without decoding them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bot.symbols.dwarf_abbrev import Abbrev, AbbrevTable
from bot.symbols.dwarf_forms import (
    AT_SIBLING,
    FIXED_SIZE,
    OFFSET_FORMS,
    REF_FORMS,
    ULEB_FORMS,
)
from bot.symbols.leb128 import sleb, uleb
from bot.symbols.sections import Sections


@dataclass
class Unit:
    offset: int
    end: int
    version: int
    offset_size: int
    address_size: int
    die_offset: int
    abbrevs: AbbrevTable
    base: dict[int, int] = field(default_factory=dict)  # str_offsets/addr/rnglists bases
    dwo_id: int | None = None  # DWARF 5 skeleton and split units name their .dwo by it


Die = dict[int, tuple[int, Any]]  # attribute -> (form, raw value)


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
        code, pos = uleb(data, pos)
        if code == 0:
            return None, None, pos
        abbrev = unit.abbrevs[code]
        attrs: Die = {}
        for attr, form, implicit in abbrev.attrs:
            if form == 0x16:  # indirect
                form, pos = uleb(data, pos)
            if form in FIXED_SIZE:
                size = FIXED_SIZE[form]
                value: Any = (
                    int.from_bytes(data[pos : pos + size], "little")
                    if size
                    else (implicit if form == 0x21 else 1)
                )
                pos += size
            elif form in ULEB_FORMS:
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
            elif form in (0x09, 0x18):  # block, exprloc
                size, pos = uleb(data, pos)
                value = None
                pos += size
            elif form in (0x0A, 0x03, 0x04):  # block1/2/4
                width = {0x0A: 1, 0x03: 2, 0x04: 4}[form]
                size = int.from_bytes(data[pos : pos + width], "little")
                value = None
                pos += width + size
            else:
                raise ValueError(f"unknown DWARF form {form:#x} at {pos:#x}")
            attrs[attr] = (form, value)
        return attrs, abbrev, pos

    def skip_die(self, unit: Unit, abbrev: Abbrev, pos: int) -> tuple[int, int]:
        """(offset after the DIE's attributes, its unit-relative DW_AT_sibling or -1) without
        decoding values: for DIEs only passed over. pos is just after the abbreviation code."""
        data = self.s.info
        sibling = -1
        for attr, form, _ in abbrev.attrs:
            if form == 0x16:
                form, pos = uleb(data, pos)
            size = FIXED_SIZE.get(form)
            if size is not None:
                if attr == AT_SIBLING and form in REF_FORMS:
                    sibling = int.from_bytes(data[pos : pos + size], "little")
                pos += size
            elif form in ULEB_FORMS or form == 0x0D:
                while data[pos] & 0x80:
                    pos += 1
                pos += 1
            elif form in OFFSET_FORMS:
                pos += unit.offset_size
            elif form == 0x01:
                pos += unit.address_size
            elif form == 0x08:
                pos = data.index(b"\0", pos) + 1
            elif form == 0x10:
                pos += unit.address_size if unit.version <= 2 else unit.offset_size
            elif form in (0x09, 0x18):
                length, pos = uleb(data, pos)
                pos += length
            elif form in (0x0A, 0x03, 0x04):
                width = {0x0A: 1, 0x03: 2, 0x04: 4}[form]
                pos += width + int.from_bytes(data[pos : pos + width], "little")
            else:
                raise ValueError(f"unknown DWARF form {form:#x} at {pos:#x}")
        return pos, sibling

    def children(
        self, unit: Unit, pos: int, wanted: frozenset[int]
    ) -> Iterator[tuple[int, Die, Abbrev, int]]:
        """(offset, attributes, abbrev, where its own children start) of each child with a tag
        in wanted, of the DIE whose children start at pos. Other children and all grandchildren
        are jumped over (DW_AT_sibling; fixed-size DIEs without decoding their attributes)."""
        data = self.s.info
        abbrevs = unit.abbrevs
        while pos < unit.end:
            offset = pos
            code = data[pos]
            after = pos + 1  # after the abbreviation code
            if code >= 0x80:  # big units use two-byte codes: decode them here too
                code, after = uleb(data, pos)
            if code:
                quick = abbrevs[code]
                if quick.tag not in wanted:
                    if quick.fixed_size >= 0:
                        if not quick.has_children:
                            pos = after + quick.fixed_size
                            continue
                        if quick.sibling_at >= 0:
                            at = after + quick.sibling_at
                            target = int.from_bytes(data[at : at + 4], "little")
                            pos = _forward(offset, unit.offset + target)
                            continue
                    pos, sibling = self.skip_die(unit, quick, after)
                    if quick.has_children:
                        if sibling >= 0:
                            pos = _forward(offset, unit.offset + sibling)
                        else:
                            pos = self.skip_children(unit, pos)
                    continue
            attrs, abbrev, pos = self.die(unit, pos)
            if attrs is None or abbrev is None:
                return
            if abbrev.tag in wanted:
                yield offset, attrs, abbrev, pos
            if abbrev.has_children:
                link = attrs.get(AT_SIBLING)
                if link is not None and link[0] in REF_FORMS:
                    pos = _forward(offset, unit.offset + link[1])
                else:
                    pos = self.skip_children(unit, pos)

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
                if abbrev.fixed_size >= 0:
                    if abbrev.sibling_at >= 0:
                        at = pos + 1 + abbrev.sibling_at
                        pos = _forward(
                            pos, unit.offset + int.from_bytes(data[at : at + 4], "little")
                        )
                    else:
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
