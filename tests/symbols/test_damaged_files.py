"""Debug files come from disks and servers that can hand back anything: a damaged file is a
BadElf (one clear line for the user), never another exception, whatever bytes are changed."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.errors import BadElf
from bot.symbols.elf_file import read_elf
from bot.symbols.symbolizer import ModuleSymbolizer
from tests.symbols.builds import Built

_ORIGINALS: dict[str, bytes] = {}


def _original(built: Built) -> bytes:
    key = str(built.path)
    if key not in _ORIGINALS:
        _ORIGINALS[key] = built.path.read_bytes()
    return _ORIGINALS[key]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    which=st.sampled_from(["orders-dwarf5", "cc-zstd", "c-dwarf4"]),
    edits=st.lists(
        st.tuples(st.floats(0, 1, exclude_max=True), st.binary(min_size=1, max_size=8)),
        min_size=1,
        max_size=6,
    ),
    truncate=st.one_of(st.none(), st.floats(0.05, 1)),
)
def test_damaged_files_raise_bad_elf_or_answer(
    binaries: dict[str, Built], which: str, edits: list[tuple[float, bytes]], truncate: float | None
) -> None:
    data = bytearray(_original(binaries[which]))
    for where, chunk in edits:
        at = int(where * len(data))
        data[at : at + len(chunk)] = chunk
    if truncate is not None:
        del data[int(truncate * len(data)) :]
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "damaged"
        path.write_bytes(bytes(data))
        try:
            with ModuleSymbolizer(read_elf(path), cache_dir=Path(directory) / "cache") as module:
                for offset in range(0x1000, 0x2000, 0x10):
                    module.lookup(offset)
        except BadElf:
            pass


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=400), header=st.booleans())
def test_section_readers_take_any_bytes(data: bytes, header: bool) -> None:
    """Arbitrary bytes (behind a valid ELF identification or not): the section reader, the
    dwz link readers and the symbol tables answer or raise BadElf."""
    from bot.symbols.dwarf_alt import alt_link, sup_checksum
    from bot.symbols.elf_image import ElfImage
    from bot.symbols.symtab import read_symbols

    raw = (b"\x7fELF\x02\x01\x01" + bytes(9) + data) if header else data
    try:
        image = ElfImage(raw)
        for name in (".debug_info", ".gnu_debugaltlink", ".debug_sup", ".gnu_debugdata"):
            image.debug_section(name)
        alt_link(image)
        sup_checksum(image)
        read_symbols(image)
    except BadElf:
        pass


def test_a_package_index_of_garbage_is_ignored(tmp_path: Path, binaries: dict[str, Built]) -> None:
    from bot.symbols.split_dwarf import _read_package

    assert _read_package(tmp_path / "absent.dwp") is None
    (tmp_path / "junk.dwp").write_bytes(b"\x7fELF" + bytes(200))
    assert _read_package(tmp_path / "junk.dwp") is None
    assert _read_package(binaries["c-dwarf4"].path) is None  # an ELF file without a cu index
