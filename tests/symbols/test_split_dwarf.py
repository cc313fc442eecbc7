"""Split DWARF (-gsplit-dwarf, DWARF 5 skeleton units and the DWARF 4 GNU extension): .dwo files
found through DW_AT_comp_dir and beside the binary, a .dwp package, and the binary served by a
real debuginfod. Every instruction is compared with llvm-symbolizer reading the split build and
addr2line reading the same program built without -gsplit-dwarf."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.symbols.builds import SplitBuild, build_id_of, dwp_package, split_build, text_addresses
from tests.symbols.debuginfod_server import debuginfod
from tests.symbols.oracles import Chain, addr2line, llvm_symbolizer
from tests.symbols.ours import assert_agree, by_build_id, chains, symbolizer_chains


@pytest.fixture(scope="module", params=["-gdwarf-5", "-gdwarf-4"])
def split(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> SplitBuild:
    directory = tmp_path_factory.mktemp("split" + request.param.replace("-g", "-"))
    return split_build(directory, "orders", "orders.cc", request.param)


def _check(split: SplitBuild, binary: Path, offsets: list[int], ours: list[Chain]) -> None:
    llvm = llvm_symbolizer(binary, offsets)
    assert_agree(offsets, ours, addr2line(split.twin, offsets), llvm)
    assert sum(len(chain) > 1 for chain in ours) > 10, "inline chains come from the .dwo"


def test_dwo_files_found_through_comp_dir(split: SplitBuild, tmp_path: Path) -> None:
    assert split.dwo, "gcc wrote no .dwo file"
    offsets = text_addresses(split.binary)
    assert offsets == text_addresses(split.twin)
    ours = symbolizer_chains(split.binary, offsets, tmp_path)
    _check(split, split.binary, offsets, ours)
    assert ours == symbolizer_chains(split.twin, offsets, tmp_path / "twin")


def test_dwo_files_beside_a_moved_binary(split: SplitBuild, tmp_path: Path) -> None:
    """The build directory is gone (another machine): the .dwo files sit beside the binary."""
    moved = tmp_path / "installed"
    moved.mkdir()
    binary = moved / split.binary.name
    shutil.copy(split.binary, binary)
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    for dwo in split.dwo:
        shutil.copy(dwo, moved / dwo.name)
        shutil.move(dwo, hidden / dwo.name)
    try:
        offsets = text_addresses(binary)
        ours = symbolizer_chains(binary, offsets, tmp_path / "cache")
    finally:
        for dwo in split.dwo:
            shutil.move(hidden / dwo.name, dwo)
    assert ours == symbolizer_chains(split.twin, offsets, tmp_path / "twin")


def test_dwp_package(split: SplitBuild, tmp_path: Path) -> None:
    binary = dwp_package(split, tmp_path / "packaged")
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    for dwo in split.dwo:
        shutil.move(dwo, hidden / dwo.name)
    try:
        offsets = text_addresses(binary)
        ours = symbolizer_chains(binary, offsets, tmp_path / "cache")
        _check(split, binary, offsets, ours)
    finally:
        for dwo in split.dwo:
            shutil.move(hidden / dwo.name, dwo)


def test_a_missing_dwo_keeps_lines_and_is_not_cached(split: SplitBuild, tmp_path: Path) -> None:
    offsets = text_addresses(split.binary)[::9]
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    for dwo in split.dwo:
        shutil.move(dwo, hidden / dwo.name)
    try:
        without = symbolizer_chains(split.binary, offsets, tmp_path / "cache")
    finally:
        for dwo in split.dwo:
            shutil.move(hidden / dwo.name, dwo)
    assert all(len(chain) <= 1 for chain in without)  # names from the symbol table only
    assert any(chain and chain[0][1] for chain in without)  # lines from the skeleton's table
    full = symbolizer_chains(split.binary, offsets, tmp_path / "cache")  # the same cache directory
    assert full == symbolizer_chains(split.twin, offsets, tmp_path / "twin")


@pytest.fixture(scope="module")
def served(split: SplitBuild, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("split-served")
    (root / "files").mkdir()
    shutil.copy(split.binary, root / "files" / split.binary.name)
    with debuginfod(root / "files", root / "db.sqlite", build_id_of(split.binary)) as url:
        yield url


def test_binary_through_debuginfod_dwo_through_comp_dir(
    split: SplitBuild, served: str, tmp_path: Path
) -> None:
    build_id = build_id_of(split.binary)
    offsets = text_addresses(split.binary)
    module = by_build_id(build_id, offsets, tmp_path, server=served)
    assert module.debug_file is not None and module.debug_file.startswith(served)
    ours = chains(module.results)
    _check(split, split.binary, offsets, ours)
