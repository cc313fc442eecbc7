"""dwz multifiles as RPM distributions ship them: two programs' debug files sharing one
supplementary file, in DWARF 4 GNU forms and DWARF 5 .debug_sup forms, found beside the debug
files, by build-id, and through a real debuginfod; every instruction is compared with addr2line
and llvm-symbolizer reading the same programs before dwz."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.symbols import index_store
from bot.symbols.elf_file import read_elf
from tests.symbols.builds import Built, DwzBuild, dwz_multifile, text_addresses
from tests.symbols.debuginfod_server import debuginfod
from tests.symbols.oracles import Chain, addr2line, llvm_symbolizer
from tests.symbols.ours import assert_agree, by_build_id, chains

PROGRAMS = ("orders-dwarf5", "cc-dwarf5")


@pytest.fixture(scope="module", params=["gnu", "dwarf5"])
def dwz(
    request: pytest.FixtureRequest,
    binaries: dict[str, Built],
    tmp_path_factory: pytest.TempPathFactory,
) -> DwzBuild:
    directory = tmp_path_factory.mktemp(f"dwz-{request.param}")
    programs = tuple(binaries[name] for name in PROGRAMS)
    return dwz_multifile(programs, directory, dwarf5=request.param == "dwarf5")


def _check(built: Built, offsets: list[int], ours: list[Chain]) -> None:
    assert_agree(
        offsets, ours, addr2line(built.path, offsets), llvm_symbolizer(built.path, offsets)
    )


def test_the_build_really_moved_names_to_the_alt_file(dwz: DwzBuild) -> None:
    sections = read_elf(dwz.debug[0]).sections
    assert ".gnu_debugaltlink" in sections or ".debug_sup" in sections
    assert dwz.alt.stat().st_size > 10_000


@pytest.mark.parametrize("name", PROGRAMS)
def test_every_instruction_with_the_alt_file_in_the_debug_directory(
    binaries: dict[str, Built], dwz: DwzBuild, tmp_path: Path, name: str
) -> None:
    built = binaries[name]
    offsets = text_addresses(built.path)
    module = by_build_id(built.build_id, offsets, tmp_path, symbol_paths=[dwz.debug_root])
    ours = chains(module.results)
    _check(built, offsets, ours)
    assert sum(len(chain) > 1 for chain in ours) > 10
    loaded = index_store.load_module(tmp_path / "index" / built.build_id)
    assert loaded is not None
    recorded = loaded[2]["alt"]  # the index says which supplementary file it was built with
    assert recorded["path"] == str(dwz.alt)
    alt_build_id = read_elf(dwz.alt).build_id
    assert alt_build_id is None or recorded["build_id"] == alt_build_id
    # warm: the index answers the same without the alt file
    shutil.move(dwz.alt, tmp_path / "moved")
    try:
        again = by_build_id(built.build_id, offsets, tmp_path, symbol_paths=[dwz.debug_root])
    finally:
        shutil.move(tmp_path / "moved", dwz.alt)
    assert again.results == module.results


def test_a_missing_alt_file_costs_names_not_the_answer(
    binaries: dict[str, Built], dwz: DwzBuild, tmp_path: Path
) -> None:
    built = binaries["orders-dwarf5"]
    offsets = text_addresses(built.path)[::5]

    def run(cache: Path) -> list[Chain]:
        return chains(
            by_build_id(built.build_id, offsets, cache, symbol_paths=[dwz.debug_root]).results
        )

    complete = run(tmp_path / "complete")
    shutil.move(dwz.alt, tmp_path / "moved")
    try:
        partial = run(tmp_path / "cache")
    finally:
        shutil.move(tmp_path / "moved", dwz.alt)
    # line rows and the outermost names (ELF symbols) still come; inlined names do not
    assert [[f[1:] for f in c] for c in partial] == [[f[1:] for f in c] for c in complete]
    assert [c[-1][0] for c in partial if c] == [c[-1][0] for c in complete if c]
    assert any(f[0] is None for c in partial for f in c)
    # units indexed without the alt file's names are not cached: the next run has them
    assert not list((tmp_path / "cache" / "index" / built.build_id).glob("pack-*"))
    assert run(tmp_path / "cache") == complete


@pytest.fixture(scope="module")
def served_gnu(
    binaries: dict[str, Built], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, DwzBuild]]:
    """Only the GNU form is served: a DWARF 5 supplementary file has no build-id to ask by."""
    directory = tmp_path_factory.mktemp("dwz-served")
    build = dwz_multifile(tuple(binaries[n] for n in PROGRAMS), directory, dwarf5=False)
    with debuginfod(
        build.debug_root, directory / "db.sqlite", binaries[PROGRAMS[0]].build_id
    ) as url:
        yield url, build


@pytest.mark.parametrize("name", PROGRAMS)
def test_debug_file_and_alt_file_through_debuginfod(
    binaries: dict[str, Built], served_gnu: tuple[str, DwzBuild], tmp_path: Path, name: str
) -> None:
    url, build = served_gnu
    built = binaries[name]
    offsets = text_addresses(built.path)
    module = by_build_id(built.build_id, offsets, tmp_path, server=url)
    assert module.debug_file == f"{url}/buildid/{built.build_id}/debuginfo"
    alt_id = read_elf(build.alt).build_id
    assert alt_id is not None
    assert (tmp_path / "debuginfod" / alt_id / "debuginfo").is_file()
    _check(built, offsets, chains(module.results))
