"""A direct decoder for one DWARF line-number program (versions 2-5): raw `.debug_line` bytes in,
rows out (line_header.py parses the header)."""

from __future__ import annotations

from array import array
from dataclasses import dataclass

END_OF_SEQUENCE = -1  # stored as the file of a row that ends a sequence


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


def decode_rows(data: bytes, start: int, end: int, header: LineHeader) -> LineRows:
    """Run the program in data[start:end] and return its rows, sorted and de-duplicated."""
    min_inst = header.min_inst_length
    line_base = header.line_base
    line_range = header.line_range
    opcode_base = header.opcode_base
    lengths = header.standard_opcode_lengths
    const_add = ((255 - opcode_base) // line_range) * min_inst
    addr_size = header.address_size
    # Rows at one address within a sequence: only the last one counts, so a row at the
    # address of the one before replaces it (last = that address, -1 after a sequence ends).
    out: list[tuple[int, int, int, int, int]] = []
    append = out.append
    last = -1

    # special opcodes, the most common by far: their address and line steps looked up
    step_address = [0] * 256
    step_line = [0] * 256
    for op in range(opcode_base, 256):
        step_address[op] = ((op - opcode_base) // line_range) * min_inst
        step_line[op] = line_base + (op - opcode_base) % line_range

    address, file, line, column = 0, 1, 1, 0
    pos = start
    while pos < end:
        op = data[pos]
        pos += 1
        if op >= opcode_base:
            address += step_address[op]
            line += step_line[op]
            if address == last:
                out[-1] = (address, 1, file, line, column)
            else:
                append((address, 1, file, line, column))
                last = address
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
            if sub == 1:  # DW_LNE_end_sequence
                if address == last:
                    out[-1] = (address, 0, END_OF_SEQUENCE, 0, 0)
                else:
                    append((address, 0, END_OF_SEQUENCE, 0, 0))
                address, file, line, column = 0, 1, 1, 0
                last = -1
            elif sub == 2:  # DW_LNE_set_address
                size = min(length - 1, addr_size) or length - 1
                address = int.from_bytes(data[pos + 1 : pos + 1 + size], "little")
            pos += length
        elif op == 1:  # DW_LNS_copy
            if address == last:
                out[-1] = (address, 1, file, line, column)
            else:
                append((address, 1, file, line, column))
                last = address
        elif op == 2:  # DW_LNS_advance_pc
            value, shift = 0, 0
            while True:
                byte = data[pos]
                pos += 1
                value |= (byte & 0x7F) << shift
                shift += 7
                if byte < 0x80:
                    break
            address += value * min_inst
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
        elif op == 4 or op == 5 or op == 12:  # set_file, set_column, set_isa
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
            elif op == 5:
                column = value
        elif op == 8:  # DW_LNS_const_add_pc
            address += const_add
        elif op == 9:  # DW_LNS_fixed_advance_pc
            address += data[pos] | (data[pos + 1] << 8)
            pos += 2
        elif op in (6, 7, 10, 11):  # negate_stmt, basic_block, prologue_end, epilogue_begin
            pass
        else:  # an opcode this version does not know: skip its ULEB operands
            for _ in range(lengths[op - 1] if op - 1 < len(lengths) else 0):
                while data[pos] >= 0x80:
                    pos += 1
                pos += 1
    return _sorted_rows(out)


def _sorted_rows(out: list[tuple[int, int, int, int, int]]) -> LineRows:
    # Sequences come out sorted inside; sorting plain tuples merges them cheaply, and puts the
    # end of one sequence (flag 0) before a sequence starting at the same address (flag 1).
    out.sort()
    keep = [i for i in range(len(out) - 1) if out[i][0] != out[i + 1][0]]
    if out:
        keep.append(len(out) - 1)
    if len(keep) != len(out):
        out = [out[i] for i in keep]
    return LineRows(
        array("Q", [r[0] for r in out]),
        array("i", [r[2] for r in out]),
        array("I", [r[3] for r in out]),
        array("I", [r[4] for r in out]),
    )
