"""The line-program decoder answering only the addresses asked for agrees, address by address,
with a decode of every row (or declines), on any program whose sequences do not overlap."""

from __future__ import annotations

from bisect import bisect_right
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.symbols.line_program import END_OF_SEQUENCE, LineHeader, _run, decode_rows, find_rows

HEADER = LineHeader(
    version=4,
    min_inst_length=1,
    default_is_stmt=True,
    line_base=-5,
    line_range=14,
    opcode_base=13,
    standard_opcode_lengths=(0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1),
    address_size=8,
)


def _uleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


# special opcodes whose line step is not negative (rows keep positive lines), the most common
_SPECIAL = st.integers(13, 255).filter(lambda op: (op - 13) % 14 >= 5).map(lambda op: bytes([op]))
_OPS = st.one_of(
    *[_SPECIAL] * 8,
    st.just(b"\x01"),  # copy
    st.integers(0, 40).map(lambda n: b"\x02" + _uleb(n)),  # advance_pc
    st.integers(0, 20).map(lambda n: b"\x03" + _uleb(n)),  # advance_line
    st.integers(1, 4).map(lambda n: b"\x04" + _uleb(n)),  # set_file
    st.integers(0, 200).map(lambda n: b"\x05" + _uleb(n)),  # set_column
    st.just(b"\x06"),  # negate_stmt
    st.just(b"\x08"),  # const_add_pc
    st.integers(0, 400).map(lambda a: b"\x00\x09\x02" + a.to_bytes(8, "little")),  # set_address
    st.just(b"\x00\x01\x01"),  # end_sequence
)


@settings(max_examples=1000, deadline=None)
@given(
    ops=st.lists(_OPS, max_size=60),
    picks=st.lists(st.tuples(st.integers(0, 10_000), st.integers(-1, 3)), max_size=8),
)
def test_answers_agree_with_every_row(ops: list[bytes], picks: list[tuple[int, int]]) -> None:
    program = b"".join(ops)
    every = decode_rows(program, 0, len(program), HEADER)
    whole = _run(program, 0, len(program), HEADER, [], keep=[])
    assert whole is not None
    extents = sorted(whole[1])
    if any(a[1] > b[0] for a, b in pairwise(extents)):
        return  # overlapping sequences: which answers depends on how far one decodes
    # addresses at, just before and just after rows, and some far from any
    near = list(every.address) or [0]
    targets = [max(0, near[i % len(near)] + step) for i, step in picks]
    targets += [i % 600 for i, _ in picks]
    found = find_rows(program, 0, len(program), HEADER, targets)
    if found is None:
        return  # overlapping or falling sequences: the whole program is decoded instead
    answered = sorted(found.rows)
    for target in targets:
        assert any(low <= target < high for low, high in found.spans)
        at = bisect_right(every.address, target) - 1
        expected = None
        if at >= 0 and every.file[at] != END_OF_SEQUENCE:
            expected = (every.file[at], every.line[at], every.column[at])
        mine = found.rows[answered[bisect_right(answered, target) - 1]]
        assert (None if mine[0] == END_OF_SEQUENCE else mine) == expected
