"""Address ranges of a DIE: low/high pc, or DW_AT_ranges in `.debug_ranges` (DWARF 2-4) or
`.debug_rnglists` (DWARF 5, including DW_FORM_rnglistx and the indexed address forms)."""

from __future__ import annotations

from bot.symbols.dwarf_die import Die, Unit
from bot.symbols.dwarf_forms import (
    ADDRX_FORMS,
    AT_GNU_RANGES_BASE,
    AT_HIGH_PC,
    AT_LOW_PC,
    AT_RANGES,
    AT_RNGLISTS_BASE,
)
from bot.symbols.dwarf_reader import DwarfReader
from bot.symbols.leb128 import uleb


def die_ranges(reader: DwarfReader, unit: Unit, die: Die, base: int) -> list[tuple[int, int]]:
    low = die.get(AT_LOW_PC)
    high = die.get(AT_HIGH_PC)
    if low is not None and high is not None:
        start = reader.address(unit, *low)
        is_address = high[0] == 0x01 or high[0] in ADDRX_FORMS  # else an offset from low_pc
        end = reader.address(unit, *high) if is_address else start + high[1]
        return [(start, end)] if end > start else []
    ranges = die.get(AT_RANGES)
    if ranges is None:
        return []
    form, value = ranges
    if unit.version >= 5:
        if form == 0x23:  # rnglistx
            table = unit.base.get(AT_RNGLISTS_BASE, 12 if unit.offset_size == 4 else 20)
            at = table + value * unit.offset_size
            value = table + int.from_bytes(reader.s.rnglists[at : at + unit.offset_size], "little")
        return _rnglist(reader, unit, value, base)
    if AT_GNU_RANGES_BASE in unit.base:
        value += unit.base[AT_GNU_RANGES_BASE]
    return _ranges_v4(reader, unit, value, base)


def _ranges_v4(reader: DwarfReader, unit: Unit, pos: int, base: int) -> list[tuple[int, int]]:
    data, size = reader.s.ranges, unit.address_size
    top = (1 << (8 * size)) - 1
    out = []
    while pos + 2 * size <= len(data):
        begin = int.from_bytes(data[pos : pos + size], "little")
        end = int.from_bytes(data[pos + size : pos + 2 * size], "little")
        pos += 2 * size
        if begin == 0 and end == 0:
            break
        if begin == top:
            base = end
        elif end > begin:
            out.append((base + begin, base + end))
    return out


def _rnglist(reader: DwarfReader, unit: Unit, pos: int, base: int) -> list[tuple[int, int]]:
    data, size = reader.s.rnglists, unit.address_size
    out = []
    while pos < len(data):
        kind = data[pos]
        pos += 1
        if kind == 0:
            break
        if kind == 1:
            index, pos = uleb(data, pos)
            base = reader.address(unit, 0x1B, index)
        elif kind in (2, 3):
            first, pos = uleb(data, pos)
            second, pos = uleb(data, pos)
            start = reader.address(unit, 0x1B, first)
            end = reader.address(unit, 0x1B, second) if kind == 2 else start + second
            out.append((start, end))
        elif kind == 4:
            first, pos = uleb(data, pos)
            second, pos = uleb(data, pos)
            out.append((base + first, base + second))
        elif kind == 5:
            base = int.from_bytes(data[pos : pos + size], "little")
            pos += size
        elif kind == 6:
            start = int.from_bytes(data[pos : pos + size], "little")
            end = int.from_bytes(data[pos + size : pos + 2 * size], "little")
            pos += 2 * size
            out.append((start, end))
        elif kind == 7:
            start = int.from_bytes(data[pos : pos + size], "little")
            length, pos = uleb(data, pos + size)
            out.append((start, start + length))
        else:
            raise ValueError(f"unknown range list entry {kind:#x}")
    return [(a, b) for a, b in out if b > a]
