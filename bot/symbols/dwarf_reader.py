"""Compile units of a DWARF 2-5 file over the raw (inflated) section bytes: unit headers, their
abbreviation tables and attribute values (strings, addresses, references)."""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

from bot.symbols.dwarf_abbrev import Abbrev, AbbrevTable
from bot.symbols.dwarf_die import DieDecoder, Unit
from bot.symbols.dwarf_forms import (
    ADDRX_FORMS,
    AT_ADDR_BASE,
    AT_GNU_ADDR_BASE,
    AT_RNGLISTS_BASE,
    AT_STR_OFFSETS_BASE,
    FIXED_SIZE,
    OFFSET_FORMS,
    REF_FORMS,
    STRX_FORMS,
)
from bot.symbols.sections import Sections


def cstring(data: bytes, pos: int) -> str:
    end = data.find(b"\0", pos)
    return data[pos : end if end >= 0 else len(data)].decode("utf-8", "replace")


class DwarfReader(DieDecoder):
    """One file's units, read on demand and kept."""

    def __init__(self, sections: Sections, *, alt: DwarfReader | None = None) -> None:
        self.s = sections
        self.alt = alt  # the dwz supplementary file's reader, when there is one and it was found
        self._abbrev_cache: dict[tuple[int, int, int, int], AbbrevTable] = {}
        # per unit format (offset size, address size, version): form sizes, shared entries
        self._formats: dict[tuple[int, int, int], tuple[dict[int, int], dict[bytes, Abbrev]]] = {}
        self._unit_offsets: list[int] | None = None
        self._units: dict[int, Unit] = {}

    # -- units --------------------------------------------------------------------------------
    def unit_offsets(self) -> list[int]:
        if self._unit_offsets is None:
            info = self.s.info
            offsets, pos = [], 0
            while pos + 4 <= len(info):
                length = int.from_bytes(info[pos : pos + 4], "little")
                header = 4
                if length == 0xFFFFFFFF:
                    length = int.from_bytes(info[pos + 4 : pos + 12], "little")
                    header = 12
                if length == 0:
                    break
                offsets.append(pos)
                pos += header + length
            self._unit_offsets = offsets
        return self._unit_offsets

    def unit_containing(self, offset: int) -> Unit:
        offsets = self.unit_offsets()
        return self.unit(offsets[bisect_right(offsets, offset) - 1])

    def unit(self, offset: int) -> Unit:
        found = self._units.get(offset)
        if found is not None:
            return found
        info = self.s.info
        length = int.from_bytes(info[offset : offset + 4], "little")
        offset_size, pos = 4, offset + 4
        if length == 0xFFFFFFFF:
            length = int.from_bytes(info[offset + 4 : offset + 12], "little")
            offset_size, pos = 8, offset + 12
        end = pos + length
        version = int.from_bytes(info[pos : pos + 2], "little")
        pos += 2
        dwo_id: int | None = None
        if version >= 5:
            unit_type, address_size = info[pos], info[pos + 1]
            abbrev_offset = int.from_bytes(info[pos + 2 : pos + 2 + offset_size], "little")
            pos += 2 + offset_size
            if unit_type in (4, 5):  # skeleton / split compile: dwo id
                dwo_id = int.from_bytes(info[pos : pos + 8], "little")
                pos += 8
            elif unit_type in (2, 6):  # type units: signature and type offset
                pos += 8 + offset_size
        else:
            abbrev_offset = int.from_bytes(info[pos : pos + offset_size], "little")
            address_size = info[pos + offset_size]
            pos += offset_size + 1
        unit = Unit(
            offset,
            end,
            version,
            offset_size,
            address_size,
            pos,
            self._abbrevs(abbrev_offset, offset_size, address_size, version),
            dwo_id=dwo_id,
        )
        unit.top = self.die(unit, pos)
        top = unit.top[0]
        if top is not None:
            for attr in (
                AT_STR_OFFSETS_BASE,
                AT_ADDR_BASE,
                AT_RNGLISTS_BASE,
                AT_GNU_ADDR_BASE,
            ):
                if attr in top:
                    unit.base[attr] = top[attr][1]
        self._units[offset] = unit
        return unit

    def _abbrevs(
        self, offset: int, offset_size: int, address_size: int, version: int
    ) -> AbbrevTable:
        key = (offset, offset_size, address_size, version)
        cached = self._abbrev_cache.get(key)
        if cached is None:
            layout = (offset_size, address_size, version)
            if layout not in self._formats:
                sizes = dict(FIXED_SIZE)
                sizes.update({form: offset_size for form in OFFSET_FORMS})
                sizes[0x01] = address_size
                sizes[0x10] = address_size if version <= 2 else offset_size
                self._formats[layout] = (sizes, {})
            sizes, shared = self._formats[layout]
            cached = AbbrevTable(self.s.abbrev, offset, sizes, shared)
            self._abbrev_cache[key] = cached
        return cached

    def reference(self, unit: Unit, form: int, value: int) -> int | None:
        """The .debug_info offset a reference attribute points at (None: another file)."""
        if form in REF_FORMS:
            return unit.offset + value
        if form == 0x10:
            return value
        return None

    # -- values -------------------------------------------------------------------------------
    def string(self, unit: Unit, form: int, value: Any) -> str | None:
        if form == 0x08:
            return bytes(value).decode("utf-8", "replace")
        if form == 0x0E:
            return cstring(self.s.str, value)
        if form == 0x1F:
            return cstring(self.s.line_str, value)
        if form in STRX_FORMS:
            header = (8 if unit.offset_size == 4 else 16) if unit.version >= 5 else 0
            base = unit.base.get(AT_STR_OFFSETS_BASE, header)  # a GNU .dwo's table has no header
            at = base + value * unit.offset_size
            offset = int.from_bytes(self.s.str_offsets[at : at + unit.offset_size], "little")
            return cstring(self.s.str, offset)
        if form in (0x1F21, 0x1D) and self.alt is not None:  # GNU_strp_alt, strp_sup
            return cstring(self.alt.s.str, value)
        return None

    def address(self, unit: Unit, form: int, value: int) -> int:
        if form in ADDRX_FORMS:
            base = unit.base.get(AT_ADDR_BASE, unit.base.get(AT_GNU_ADDR_BASE, 8))
            at = base + value * unit.address_size
            return int.from_bytes(self.s.addr[at : at + unit.address_size], "little")
        return value
