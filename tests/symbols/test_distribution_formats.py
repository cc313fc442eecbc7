"""Debug files as distributions ship them, symbolized by build-id alone through a real elfutils
debuginfod and compared frame by frame with the reference tool that reads each format."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.adapters.debuginfod import DebuginfodClient
from bot.app.symbolize import symbolize_offsets
from symbols.builds import Built, text_addresses
from symbols.debuginfod_server import debuginfod
from symbols.oracles import Chain, addr2line, llvm_symbolizer
from symbols.test_symbolizer_oracles import _disagreements

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
    with debuginfod(files, root / "db.sqlite", binaries[SERVED[-1]].build_id) as url:
        yield url


def _by_build_id(url: str, built: Built, offsets: list[int], cache: Path) -> list[Chain]:
    module = symbolize_offsets(
        build_id=built.build_id,
        binary=None,
        offsets=offsets,
        fetcher=DebuginfodClient([url], cache_dir=cache),
        cache_dir=cache,
        system_debug_dirs=(),
    )
    assert module.debug_file == f"{url}/buildid/{built.build_id}/debuginfo"
    return [[(f.function, f.file, f.line) for f in r.frames] for r in module.results]


@pytest.mark.parametrize("name", SERVED)
def test_compressed_debug_files_through_debuginfod(
    binaries: dict[str, Built], server: str, tmp_path: Path, name: str
) -> None:
    built = binaries[name]
    offsets = text_addresses(built.path)
    ours = _by_build_id(server, built, offsets, tmp_path)
    llvm = llvm_symbolizer(built.plain or built.path, offsets)
    bad = _disagreements(offsets, ours, addr2line(built.debug, offsets), llvm)
    assert bad == [], f"{len(bad)} of {len(offsets)} differ:\n" + "\n".join(bad[:20])


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
