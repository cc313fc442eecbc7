"""Which compile unit covers an address: .debug_aranges read directly, plus the ranges of the
top DIE of every unit aranges leaves out (or of all units when there is no .debug_aranges)."""

from __future__ import annotations

import struct
from array import array
from dataclasses import dataclass
from typing import Any


@dataclass
class CuMap:
    low: array  # type: ignore[type-arg]  # sorted
    high: array  # type: ignore[type-arg]
    cu_offset: array  # type: ignore[type-arg]

    def find(self, address: int) -> int:
        """Offset of the unit covering address, or -1."""
        from bisect import bisect_right

        i = bisect_right(self.low, address) - 1
        stop = max(-1, i - 64)  # ranges rarely overlap; look back a little for one that does
        while i > stop:
            if self.high[i] > address:
                return int(self.cu_offset[i])
            i -= 1
        return -1


def _unit_offsets(info: bytes) -> list[int]:
    offsets = []
    pos = 0
    while pos + 4 <= len(info):
        (length,) = struct.unpack_from("<I", info, pos)
        header = 4
        if length == 0xFFFFFFFF:
            (length,) = struct.unpack_from("<Q", info, pos + 4)
            header = 12
        if length == 0:
            break
        offsets.append(pos)
        pos += header + length
    return offsets


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
        while entry + tuple_size <= end:
            start = int.from_bytes(data[entry : entry + address_size], "little")
            size = int.from_bytes(data[entry + address_size : entry + tuple_size], "little")
            entry += tuple_size
            if start == 0 and size == 0:
                break
            if size:
                out.append((start, start + size, cu_offset))
        pos = end
    return out


def build_cu_map(dwarf: Any, top_ranges: Any) -> CuMap:
    """top_ranges(cu) gives the address ranges of a unit's top DIE (used for units that
    .debug_aranges does not list)."""
    ranges: list[tuple[int, int, int]] = []
    if dwarf.debug_aranges_sec is not None:
        ranges = _aranges(dwarf.debug_aranges_sec.stream.getvalue())
    listed = {r[2] for r in ranges}
    for offset in _unit_offsets(dwarf.debug_info_sec.stream.getvalue()):
        if offset in listed:
            continue
        cu = dwarf.get_CU_at(offset)
        ranges.extend((low, high, offset) for low, high in top_ranges(cu))
    ranges.sort()
    return CuMap(
        array("Q", (r[0] for r in ranges)),
        array("Q", (r[1] for r in ranges)),
        array("Q", (r[2] for r in ranges)),
    )
