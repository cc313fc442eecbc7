"""Debug files as distributions ship them, symbolized by build-id alone through a real elfutils
debuginfod and compared frame by frame with the reference tool that reads each format."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app.symbolize import symbolize_offsets
from tests.symbols.builds import Built, minidebuginfo, text_addresses
from tests.symbols.debuginfod_server import debuginfod
from tests.symbols.oracles import Chain, addr2line, eu_addr2line_names, llvm_symbolizer
from tests.symbols.ours import assert_agree, by_build_id, chains

SERVED = ("cc-zstd", "cc-zdebug", "c-zstd-dwarf4")


@pytest.fixture(scope="module")
def server(binaries: dict[str, Built], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("distro-debuginfod")
    files = root / "files"
    for name in SERVED:
        built = binaries[name]
        (files / name).mkdir(parents=True)
        shutil.copy(built.debug, files / name / f"{built.path.name}.debug")
        shutil.copy(built.stripped, files / name / built.path.name)
    (files / "minidebuginfo").mkdir()  # a stripped binary and no debug file at all
    shutil.copy(minidebuginfo(binaries["orders-dwarf5"]), files / "minidebuginfo" / "orders")
    with debuginfod(files, root / "db.sqlite", binaries[SERVED[-1]].build_id) as url:
        yield url


def _by_build_id(url: str, built: Built, offsets: list[int], cache: Path) -> list[Chain]:
    module = by_build_id(built.build_id, offsets, cache, server=url)
    assert module.debug_file == f"{url}/buildid/{built.build_id}/debuginfo"
    return chains(module.results)


@pytest.mark.parametrize("name", SERVED)
def test_compressed_debug_files_through_debuginfod(
    binaries: dict[str, Built], server: str, tmp_path: Path, name: str
) -> None:
    built = binaries[name]
    offsets = text_addresses(built.path)
    ours = _by_build_id(server, built, offsets, tmp_path)
    llvm = llvm_symbolizer(built.plain or built.path, offsets)
    assert_agree(offsets, ours, addr2line(built.debug, offsets), llvm)


def test_an_unknown_compression_type_is_a_clear_error(
    binaries: dict[str, Built], tmp_path: Path
) -> None:
    from bot.errors import BadElf
    from bot.symbols.elf_image import ElfImage

    image = ElfImage.open(binaries["cc-zstd"].path)
    offset = image._headers[".debug_info"][2]
    image.close()
    data = bytearray(binaries["cc-zstd"].path.read_bytes())
    data[offset] = 9  # ch_type
    odd = tmp_path / "odd"
    odd.write_bytes(bytes(data))
    with pytest.raises(BadElf, match="unknown compression type 0x9"):
        ElfImage.open(odd).debug_section(".debug_info")
    data[offset] = 2
    data[offset + 40 : offset + 48] = b"\xff" * 8  # inside the zstd frame
    odd.write_bytes(bytes(data))
    with pytest.raises(BadElf, match="zstd"):
        ElfImage.open(odd).debug_section(".debug_info")


@pytest.mark.parametrize("name", ["orders-dwarf5", "c-dwarf4"])
def test_minidebuginfo_names_every_instruction_like_elfutils(
    binaries: dict[str, Built], tmp_path: Path, name: str
) -> None:
    built = binaries[name]
    stripped = minidebuginfo(built)
    offsets = text_addresses(built.path)
    module = symbolize_offsets(
        build_id=None, binary=stripped, offsets=offsets, cache_dir=tmp_path, system_debug_dirs=()
    )
    assert module.debug_file == str(stripped)
    elfutils = eu_addr2line_names(stripped, offsets)
    assert elfutils is not None, "eu-addr2line is needed"
    ours = [r.frames[-1].function if r.frames else None for r in module.results]
    bad = [
        f"{o:#x}: ours {m} elfutils {e}"
        for o, m, e in zip(offsets, ours, elfutils, strict=True)
        if m != e
    ]
    assert bad == [], f"{len(bad)} of {len(offsets)} differ:\n" + "\n".join(bad[:20])
    local_only = [r for r in module.results if r.frames and r.frames[-1].source == ".gnu_debugdata"]
    assert local_only, "some functions are named by the MiniDebugInfo symbols alone"


def test_minidebuginfo_through_debuginfod(
    binaries: dict[str, Built], server: str, tmp_path: Path
) -> None:
    built = binaries["orders-dwarf5"]
    offsets = text_addresses(built.path)[::7]
    module = by_build_id(built.build_id, offsets, tmp_path, server=server)
    assert module.debug_file is not None and module.debug_file.startswith(server)
    stripped = minidebuginfo(built)
    ours = [r.frames[-1].function if r.frames else None for r in module.results]
    assert ours == eu_addr2line_names(stripped, offsets)
    assert {r.frames[-1].source for r in module.results if r.frames} == {".gnu_debugdata"}
