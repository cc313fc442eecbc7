"""Decoding one DWARF line-number program (versions 2-5): the rows answering some addresses,
decoded only as far as they need, or every row (line_header.py parses the header)."""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import islice, pairwise
from operator import itemgetter, lt

END_OF_SEQUENCE = -1  # stored as the file of a row that ends a sequence
_NEVER = 1 << 64  # above every address: the sentinel after the targets

Row = tuple[int, int, int, int, int]  # address, 0 for an end of sequence else 1, file, line, column


@dataclass(frozen=True, eq=False, repr=False)
class LineHeader:
    """The decoding parameters of one line-number program."""

    version: int
    min_inst_length: int
    default_is_stmt: bool
    line_base: int
    line_range: int
    opcode_base: int
    standard_opcode_lengths: tuple[int, ...]
    address_size: int


@dataclass(eq=False, repr=False)
class LineRows:
    """Rows sorted by address; at equal addresses only the last row is kept (what addr2line and
    llvm-symbolizer report). A row with file END_OF_SEQUENCE covers no code."""

    address: array  # type: ignore[type-arg]
    file: array  # type: ignore[type-arg]
    line: array  # type: ignore[type-arg]
    column: array  # type: ignore[type-arg]


@dataclass(frozen=True, eq=False, repr=False)
class Answers:
    """What one pass found for its targets: the row answering each (by address: file, line,
    column; file END_OF_SEQUENCE for none) and the stretches those answers hold for."""

    rows: dict[int, tuple[int, int, int]]
    spans: list[tuple[int, int]]


_STEPS: dict[tuple[int, int, int, int], tuple[list[int], list[int]]] = {}


def _steps(header: LineHeader) -> tuple[list[int], list[int]]:
    """Address and line steps of the special opcodes (the most common), looked up per opcode."""
    base, span, unit = header.opcode_base, header.line_range, header.min_inst_length
    key = (base, span, unit, header.line_base)
    found = _STEPS.get(key)
    if found is None:
        step_address, step_line = [0] * 256, [0] * 256
        for op in range(base, 256):
            step_address[op] = ((op - base) // span) * unit
            step_line[op] = header.line_base + (op - base) % span
        found = _STEPS[key] = (step_address, step_line)
    return found


def find_rows(
    data: bytes, start: int, end: int, header: LineHeader, targets: Sequence[int]
) -> Answers | None:
    """The rows answering targets, decoding only until each lies in a sequence decoded past it;
    None when sequences overlap or run backwards around one (then only decode_rows answers)."""
    wanted = sorted(set(targets))
    found = _run(data, start, end, header, wanted, keep=None)
    if found is None:
        return None
    answers, sequences = found
    if not _apart(sequences, answers):
        return None
    rows: dict[int, tuple[int, int, int]] = {}
    stretches: list[tuple[int, int]] = []
    for target, answer in zip(wanted, answers, strict=True):
        if answer is None:  # in no sequence: no line, for this very address
            rows[target] = (END_OF_SEQUENCE, 0, 0)
            stretches.append((target, target + 1))
        else:
            address, file, line, column, until = answer
            rows[address] = (file, line, column)
            stretches.append((address, until))
    return Answers(rows, stretches)


def decode_rows(data: bytes, start: int, end: int, header: LineHeader) -> LineRows:
    """Every row of the program in data[start:end], sorted and de-duplicated."""
    rows: list[Row] = []
    _run(data, start, end, header, [], keep=rows)
    return sorted_rows(rows)


Answer = tuple[int, int, int, int, int]  # row address, file, line, column; next row's address


def _apart(sequences: list[tuple[int, int]], answers: list[Answer | None]) -> bool:
    """Whether no decoded sequence but the one holding it reaches into an answer's stretch."""
    ordered = sorted(sequences)
    if all(a[1] <= b[0] for a, b in pairwise(ordered)):
        return True
    for answer in answers:
        if answer is not None:
            low, high = answer[0], answer[4]
            if sum(1 for first, last in sequences if first < high and last > low) > 1:
                return False
    return True


def _run(
    data: bytes,
    start: int,
    end: int,
    header: LineHeader,
    targets: list[int],
    keep: list[Row] | None,
) -> tuple[list[Answer | None], list[tuple[int, int]]] | None:
    """One pass: with keep, every row appended to it (the last of a sequence's rows at one address
    kept); else the sorted targets' answers, up to the last, None if a sequence's addresses fall."""
    opcode_base = header.opcode_base
    lengths = header.standard_opcode_lengths
    min_inst = header.min_inst_length
    const_add = ((255 - opcode_base) // header.line_range) * min_inst
    step_address, step_line = _steps(header)
    probes = [*targets, _NEVER]  # the sentinel ends every scan of them
    answers: list[Answer | None] = [None] * len(targets)
    keeping = keep is not None
    left = -1 if keeping else len(targets)  # -1: never stop early
    sequences: list[tuple[int, int]] = []
    address, file, line, column = 0, 1, 1, 0
    last = last_file = last_line = last_column = -1  # the row before; last -1: none yet
    first = k = 0  # the sequence's first address; the first target not answered in it
    probe = -1  # targets[k], -1 to set up k at a sequence's first row
    pos = start
    while pos < end:
        op = data[pos]
        pos += 1
        if op >= opcode_base:
            address += step_address[op]
            line += step_line[op]
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
            continue
        elif op == 6:  # DW_LNS_negate_stmt
            continue
        elif op == 1:  # DW_LNS_copy: a row, below
            pass
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
            continue
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
                if last < 0:
                    first = address
                elif address < last and keep is None:
                    return None
                elif address > probe:
                    while probes[k] < address:
                        if answers[k] is None:
                            answers[k] = (last, last_file, last_line, last_column, address)
                            left -= 1
                        k += 1
                sequences.append((first, address))
                if keep is not None:
                    if address == last:
                        keep[-1] = (address, 0, END_OF_SEQUENCE, 0, 0)
                    else:
                        keep.append((address, 0, END_OF_SEQUENCE, 0, 0))
                address, file, line, column = 0, 1, 1, 0
                last, probe = -1, -1
                if left == 0:
                    break
            elif sub == 2:  # DW_LNE_set_address
                size = min(length - 1, header.address_size) or length - 1
                at = pos - length + 1
                address = int.from_bytes(data[at : at + size], "little")
            continue
        elif op == 8:  # DW_LNS_const_add_pc
            address += const_add
            continue
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
            continue
        elif op == 9:  # DW_LNS_fixed_advance_pc
            address += data[pos] | (data[pos + 1] << 8)
            pos += 2
            continue
        elif op in (7, 10, 11):  # basic_block, prologue_end, epilogue_begin
            continue
        else:  # an opcode this version does not know: skip its ULEB operands
            for _ in range(lengths[op - 1] if op - 1 < len(lengths) else 0):
                while data[pos] >= 0x80:
                    pos += 1
                pos += 1
            continue
        # a row at address (special opcodes and DW_LNS_copy)
        if address > last:
            if address > probe:
                if last < 0:  # the sequence's first row
                    first = address
                    k = bisect_left(probes, address)
                else:  # the targets below address are answered by the row before
                    while probes[k] < address:
                        if answers[k] is None:
                            answers[k] = (last, last_file, last_line, last_column, address)
                            left -= 1
                        k += 1
                    if left == 0:
                        sequences.append((first, address))
                        break
                probe = probes[k]
            if keeping:
                keep.append((address, 1, file, line, column))  # type: ignore[union-attr]
        elif address == last:
            if keeping:
                keep[-1] = (address, 1, file, line, column)  # type: ignore[index]
        elif keeping:
            keep.append((address, 1, file, line, column))  # type: ignore[union-attr]
        else:
            return None
        last = address
        last_file = file
        last_line = line
        last_column = column
    else:
        if last >= 0:  # a program that ends inside a sequence
            if keep is None and probes[k] < _NEVER and probes[k] >= first:
                return None  # its last row would answer past it, as in decode_rows
            sequences.append((first, last))
    return answers, sequences


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
