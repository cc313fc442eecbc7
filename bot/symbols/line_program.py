"""A resumable decoder for one DWARF line-number program (versions 2-5): it runs only as far as
the addresses asked for need, and picks up where it stopped (line_header.py parses the header)."""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from operator import itemgetter, lt

END_OF_SEQUENCE = -1  # stored as the file of a row that ends a sequence
_NEVER = 1 << 64  # above every address: no stop inside a sequence known not to hold the target

Row = tuple[int, int, int, int, int]  # address, 0 for an end of sequence else 1, file, line, column


@dataclass(frozen=True)
class LineHeader:
    version: int
    min_inst_length: int
    default_is_stmt: bool
    line_base: int
    line_range: int
    opcode_base: int
    standard_opcode_lengths: tuple[int, ...]
    address_size: int


@dataclass
class LineRows:
    """Rows sorted by address; at equal addresses only the last row is kept (what addr2line and
    llvm-symbolizer report). A row with file END_OF_SEQUENCE covers no code."""

    address: array  # type: ignore[type-arg]
    file: array  # type: ignore[type-arg]
    line: array  # type: ignore[type-arg]
    column: array  # type: ignore[type-arg]


class LineDecoder:
    """Rows of one program, decoded on demand. Addresses only grow inside a sequence, so rows
    below the last one decoded are final there; `covered` lists the stretches answered."""

    def __init__(self, data: bytes, start: int, end: int, header: LineHeader) -> None:
        self.data, self.pos, self.end = data, start, end
        self.header = header
        base, span, unit = header.opcode_base, header.line_range, header.min_inst_length
        self._step_address = [0] * 256
        self._step_line = [0] * 256
        for op in range(base, 256):  # special opcodes, the most common: steps looked up
            self._step_address[op] = ((op - base) // span) * unit
            self._step_line[op] = header.line_base + (op - base) % span
        self.rows: list[Row] = []  # in program order; rows at one address within a sequence
        # are merged as they come (the last one counts)
        self._state = (0, 1, 1, 0, -1)  # address, file, line, column, last row's address
        self._first = 0  # index in rows of the current sequence's first row
        self.finished: list[tuple[int, int]] = []  # [first, end) of each finished sequence
        self.done = start >= end

    def covered(self) -> list[tuple[int, int]]:
        """Address stretches whose answers no later row can change."""
        out = list(self.finished)
        if self._first < len(self.rows):
            out.append((self.rows[self._first][0], self.rows[-1][0]))
        return out

    def sorted_rows(self) -> LineRows:
        """The rows so far, sorted and de-duplicated."""
        return sorted_rows(self.rows)

    def run_to(self, target: int) -> None:
        """Decode until target lies in a sequence decoded past it, or the program ends."""
        if self.done:
            return
        data, end = self.data, self.end
        header = self.header
        opcode_base = header.opcode_base
        lengths = header.standard_opcode_lengths
        min_inst = header.min_inst_length
        const_add = ((255 - opcode_base) // header.line_range) * min_inst
        step_address, step_line = self._step_address, self._step_line
        rows = self.rows
        append = rows.append
        address, file, line, column, last = self._state
        first = self._first
        limit = target  # a row past this ends the run when its sequence began at or below target
        pos = self.pos
        while pos < end:
            op = data[pos]
            pos += 1
            if op >= opcode_base:
                address += step_address[op]
                line += step_line[op]
                if address == last:
                    rows[-1] = (address, 1, file, line, column)
                    continue
                append((address, 1, file, line, column))
                last = address
                if address > limit:
                    if rows[first][0] <= target:
                        break
                    limit = _NEVER
            elif op == 5:  # DW_LNS_set_column
                column = data[pos]
                pos += 1
                if column >= 0x80:
                    column &= 0x7F
                    shift = 7
                    while True:
                        byte = data[pos]
                        pos += 1
                        column |= (byte & 0x7F) << shift
                        shift += 7
                        if byte < 0x80:
                            break
            elif op == 6:  # DW_LNS_negate_stmt
                pass
            elif op == 1:  # DW_LNS_copy
                if address == last:
                    rows[-1] = (address, 1, file, line, column)
                    continue
                append((address, 1, file, line, column))
                last = address
                if address > limit:
                    if rows[first][0] <= target:
                        break
                    limit = _NEVER
            elif op == 3:  # DW_LNS_advance_line (signed)
                value, shift = 0, 0
                while True:
                    byte = data[pos]
                    pos += 1
                    value |= (byte & 0x7F) << shift
                    shift += 7
                    if byte < 0x80:
                        break
                if byte & 0x40:
                    value -= 1 << shift
                line += value
            elif op == 0:
                length, shift = 0, 0
                while True:
                    byte = data[pos]
                    pos += 1
                    length |= (byte & 0x7F) << shift
                    shift += 7
                    if byte < 0x80:
                        break
                if length == 0:
                    continue
                sub = data[pos]
                pos += length
                if sub == 1:  # DW_LNE_end_sequence
                    if address == last:
                        rows[-1] = (address, 0, END_OF_SEQUENCE, 0, 0)
                    else:
                        append((address, 0, END_OF_SEQUENCE, 0, 0))
                    start = rows[first][0]
                    self.finished.append((start, address))
                    first = len(rows)
                    found = start <= target < address
                    address, file, line, column, last = 0, 1, 1, 0, -1
                    if found:
                        break
                    limit = target
                elif sub == 2:  # DW_LNE_set_address
                    size = min(length - 1, header.address_size) or length - 1
                    at = pos - length + 1
                    address = int.from_bytes(data[at : at + size], "little")
            elif op == 8:  # DW_LNS_const_add_pc
                address += const_add
            elif op == 4 or op == 2 or op == 12:  # set_file, advance_pc, set_isa
                value, shift = 0, 0
                while True:
                    byte = data[pos]
                    pos += 1
                    value |= (byte & 0x7F) << shift
                    shift += 7
                    if byte < 0x80:
                        break
                if op == 4:
                    file = value
                elif op == 2:
                    address += value * min_inst
            elif op == 9:  # DW_LNS_fixed_advance_pc
                address += data[pos] | (data[pos + 1] << 8)
                pos += 2
            elif op in (7, 10, 11):  # basic_block, prologue_end, epilogue_begin
                pass
            else:  # an opcode this version does not know: skip its ULEB operands
                for _ in range(lengths[op - 1] if op - 1 < len(lengths) else 0):
                    while data[pos] >= 0x80:
                        pos += 1
                    pos += 1
        self.pos = pos
        self._state = (address, file, line, column, last)
        self._first = first
        self.done = pos >= end


def decode_rows(data: bytes, start: int, end: int, header: LineHeader) -> LineRows:
    """Every row of the program in data[start:end], sorted and de-duplicated."""
    decoder = LineDecoder(data, start, end, header)
    decoder.run_to(-1)
    return decoder.sorted_rows()


def sorted_rows(rows: list[Row]) -> LineRows:
    # Sequences come out sorted inside; sorting plain tuples merges them cheaply, and puts the
    # end of one sequence (flag 0) before a sequence starting at the same address (flag 1).
    # Of rows at one address the last counts: a dict keyed by address keeps it.
    addresses = list(map(itemgetter(0), rows))
    kept: Iterable[Row] = rows
    if not all(map(lt, addresses, islice(addresses, 1, None))):  # else sorted, no repeats
        ordered = sorted(rows)
        kept = dict(zip(map(itemgetter(0), ordered), ordered, strict=True)).values()
        addresses = list(map(itemgetter(0), kept))
    return LineRows(
        array("Q", addresses),
        array("i", map(itemgetter(2), kept)),
        array("I", map(itemgetter(3), kept)),
        array("I", map(itemgetter(4), kept)),
    )
