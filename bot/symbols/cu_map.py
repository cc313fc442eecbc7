"""Which compile unit covers an address: .debug_aranges read directly, plus the ranges of the
top DIE of every unit aranges leaves out (or of all units when there is no .debug_aranges)."""

from __future__ import annotations

import struct
from array import array
from collections.abc import Iterator

from bot.symbols.dwarf_cu import unit_ranges
from bot.symbols.dwarf_reader import DwarfReader
from bot.symbols.index_model import CuMap


def _aranges(data: bytes) -> list[tuple[int, int, int]]:
    out = []
    pos = 0
    while pos + 4 <= len(data):
        (length,) = struct.unpack_from("<I", data, pos)
        if length == 0xFFFFFFFF:
            (length,) = struct.unpack_from("<Q", data, pos + 4)
            body, offset_size = pos + 12, 8
        else:
            body, offset_size = pos + 4, 4
        end = body + length
        if length == 0 or end > len(data):
            break
        cu_offset = int.from_bytes(data[body + 2 : body + 2 + offset_size], "little")
        address_size = data[body + 2 + offset_size]
        tuple_size = 2 * address_size
        header = body + 2 + offset_size + 2
        entry = header + (-(header - pos) % tuple_size)
        count = (end - entry) // tuple_size if tuple_size else 0
        for start, size in _pairs(data, entry, count, address_size):
            if start == 0 and size == 0:
                break
            if size:
                out.append((start, start + size, cu_offset))
        pos = end
    return out


def _pairs(data: bytes, at: int, count: int, size: int) -> Iterator[tuple[int, ...]]:
    """count (address, length) pairs of size-byte numbers from data[at:]."""
    code = {4: "I", 8: "Q"}.get(size)
    if code is not None:
        return struct.iter_unpack(f"<{code}{code}", data[at : at + count * 2 * size])
    return (
        (
            int.from_bytes(data[p : p + size], "little"),
            int.from_bytes(data[p + size : p + 2 * size], "little"),
        )
        for p in range(at, at + count * 2 * size, 2 * size)
    )


def build_cu_map(reader: DwarfReader) -> tuple[CuMap, list[int]]:
    """The map from .debug_aranges and the units it leaves out (read only when an address is not
    found: add_units); without .debug_aranges, every unit's ranges."""
    ranges = _aranges(reader.s.aranges) if reader.s.aranges else []
    listed = {r[2] for r in ranges}
    unlisted = [offset for offset in reader.unit_offsets() if offset not in listed]
    if not ranges:
        return add_units(reader, _to_map(ranges), unlisted), []
    return _to_map(ranges), unlisted


def add_units(reader: DwarfReader, cu_map: CuMap, offsets: list[int]) -> CuMap:
    """cu_map plus the top-DIE ranges of the given units."""
    ranges = list(zip(cu_map.low, cu_map.high, cu_map.cu_offset, strict=True))
    for offset in offsets:
        ranges.extend((low, high, offset) for low, high in unit_ranges(reader, offset))
    return _to_map(ranges)


def _to_map(ranges: list[tuple[int, int, int]]) -> CuMap:
    ranges.sort()
    return CuMap(
        array("Q", [r[0] for r in ranges]),
        array("Q", [r[1] for r in ranges]),
        array("Q", [r[2] for r in ranges]),
    )
