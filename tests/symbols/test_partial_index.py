"""A unit's index is built only as far as the addresses asked for need (line rows up to them,
the inline trees of the functions holding them) and grown later: however it was grown, in one
run or over several runs through the on-disk index, it answers like one built for every
address at once."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bot.symbols.elf_file import read_elf
from bot.symbols.model import SymbolFrame
from bot.symbols.symbolizer import ModuleSymbolizer
from tests.symbols.builds import Built, text_addresses


def _lookups(path: Path, cache: Path, addresses: list[int], *, batch: bool) -> list[object]:
    with ModuleSymbolizer(read_elf(path), cache_dir=cache) as symbolizer:
        if batch:
            symbolizer.prepare(addresses)
        chains: list[tuple[SymbolFrame, ...]] = [symbolizer.lookup(a) for a in addresses]
        return list(chains)


@pytest.mark.parametrize("name", ["cc-dwarf5", "orders-dwarf4", "c-dwarf5"])
def test_an_index_grown_piece_by_piece_answers_like_one_built_at_once(
    binaries: dict[str, Built], tmp_path: Path, name: str
) -> None:
    path = binaries[name].path
    addresses = text_addresses(path)
    at_once = _lookups(path, tmp_path / "once", addresses, batch=True)
    assert sum(1 for chain in at_once if chain) > len(addresses) // 2

    shuffled = addresses[:]
    random.Random(3).shuffle(shuffled)
    one_by_one = _lookups(path, tmp_path / "single", shuffled, batch=False)
    assert dict(zip(shuffled, one_by_one, strict=True)) == dict(
        zip(addresses, at_once, strict=True)
    )

    cache = tmp_path / "runs"
    middle = len(addresses) // 2
    for part in (addresses[middle : middle + 1], addresses[1::37], addresses[5::7]):
        _lookups(path, cache, part, batch=True)  # each run grows what the one before left
    assert _lookups(path, cache, addresses, batch=False) == at_once
    assert _lookups(path, cache, addresses, batch=True) == at_once


def test_a_run_answered_from_disk_does_not_open_the_file(
    binaries: dict[str, Built], tmp_path: Path
) -> None:
    path = binaries["cc-dwarf5"].path
    some = text_addresses(path)[::11]
    first = _lookups(path, tmp_path, some, batch=True)
    with ModuleSymbolizer(read_elf(path), cache_dir=tmp_path) as again:
        assert [again.lookup(a) for a in some] == first
        assert again._elf is None  # covered by the index the first run wrote
