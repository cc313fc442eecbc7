"""symbolize_offsets end to end on real binaries: where the symbols are found (a debug file, a
.build-id tree, .gnu_debuglink, a symbol table only), caller frames, and clear errors."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bot.app.symbolize import symbolize_offsets
from bot.errors import BadElf, DebugInfoNotFound, UsageError
from bot.symbols.elf_file import read_elf
from tests.symbols.builds import Built, text_addresses

NO_SYSTEM_DIRS: tuple[Path, ...] = ()


def _function_offset(built: Built, name: str) -> int:
    out = subprocess.run(
        ["nm", "-C", str(built.path)], check=True, capture_output=True, text=True
    ).stdout
    for line in out.splitlines():
        parts = line.split(maxsplit=2)
        if len(parts) == 3 and parts[2] == name:
            return int(parts[0], 16)
    raise AssertionError(f"{name} not in {built.path}")


def _names(result_frames: tuple[object, ...]) -> list[str | None]:
    return [frame.function for frame in result_frames]


def test_stripped_binary_with_its_debug_file(binaries: dict[str, Built], cache_dir: Path) -> None:
    built = binaries["cc-dwarf5"]
    offset = _function_offset(
        built,
        "shop::Checkout::confirm(std::vector<shop::PricingRule, "
        "std::allocator<shop::PricingRule> > const&, int)",
    )
    module = symbolize_offsets(
        build_id=None,
        binary=built.stripped,
        offsets=[offset + 4],
        symbol_paths=[built.debug],
        cache_dir=cache_dir,
        system_debug_dirs=NO_SYSTEM_DIRS,
    )
    assert module.build_id == built.build_id
    assert module.debug_file == str(built.debug)
    frames = module.results[0].frames
    assert frames[-1].function is not None and frames[-1].function.startswith(
        "shop::Checkout::confirm("
    )
    assert frames[-1].function_offset == 4
    assert frames[-1].inlined is False
    assert frames[0].file is not None and frames[0].line is not None


def test_build_id_alone_in_a_debug_directory(binaries: dict[str, Built], cache_dir: Path) -> None:
    built = binaries["c-dwarf4"]
    offset = _function_offset(built, "total")
    module = symbolize_offsets(
        build_id=built.build_id,
        binary=None,
        offsets=[offset],
        symbol_paths=[built.debug_root],
        cache_dir=cache_dir,
        system_debug_dirs=NO_SYSTEM_DIRS,
    )
    assert module.debug_file is not None and ".build-id" in module.debug_file
    assert _names(module.results[0].frames)[-1] == "total"


def test_gnu_debuglink_next_to_the_binary(
    binaries: dict[str, Built], cache_dir: Path, tmp_path: Path
) -> None:
    built = binaries["c-dwarf5"]
    here = tmp_path / "deploy"
    (here / ".debug").mkdir(parents=True)
    shutil.copy(built.stripped, here / "pricing")
    shutil.copy(built.debug, here / ".debug" / built.debug.name)
    assert read_elf(here / "pricing").debuglink == built.debug.name
    module = symbolize_offsets(
        build_id=None,
        binary=here / "pricing",
        offsets=[_function_offset(built, "main")],
        cache_dir=cache_dir,
        system_debug_dirs=NO_SYSTEM_DIRS,
    )
    assert module.debug_file == str(here / ".debug" / built.debug.name)
    assert _names(module.results[0].frames)[-1] == "main"


def test_symbol_table_only_gives_function_and_offset(
    binaries: dict[str, Built], cache_dir: Path, tmp_path: Path
) -> None:
    built = binaries["cc-dwarf4"]
    only_symtab = tmp_path / "checkout"
    subprocess.run(["strip", "--strip-debug", "-o", str(only_symtab), str(built.path)], check=True)
    start = _function_offset(built, "main")
    module = symbolize_offsets(
        build_id=None,
        binary=only_symtab,
        offsets=[start + 3],
        cache_dir=cache_dir,
        system_debug_dirs=NO_SYSTEM_DIRS,
    )
    (frame,) = module.results[0].frames
    assert (frame.function, frame.function_offset, frame.file, frame.line) == (
        "main",
        3,
        None,
        None,
    )


def test_caller_frames_look_up_the_byte_before(binaries: dict[str, Built], cache_dir: Path) -> None:
    built = binaries["c-dwarf5"]
    offsets = text_addresses(built.path)[40:60]
    plain = symbolize_offsets(
        build_id=None,
        binary=built.path,
        offsets=[o - 1 for o in offsets],
        cache_dir=cache_dir,
        system_debug_dirs=NO_SYSTEM_DIRS,
    )
    as_returns = symbolize_offsets(
        build_id=None,
        binary=built.path,
        offsets=offsets,
        return_addresses=[True] * len(offsets),
        cache_dir=cache_dir,
        system_debug_dirs=NO_SYSTEM_DIRS,
    )
    for a, b in zip(plain.results, as_returns.results, strict=True):
        assert [(f.function, f.file, f.line) for f in a.frames] == [
            (f.function, f.file, f.line) for f in b.frames
        ]


def test_unknown_build_id_is_a_clear_miss(cache_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(DebugInfoNotFound, match="no symbols for build-id 00112233"):
        symbolize_offsets(
            build_id="00112233" * 5,
            binary=None,
            offsets=[0x10],
            symbol_paths=[tmp_path],
            cache_dir=cache_dir,
            system_debug_dirs=NO_SYSTEM_DIRS,
        )


def test_wrong_build_id_in_a_given_file_is_skipped_and_said(
    binaries: dict[str, Built], cache_dir: Path
) -> None:
    with pytest.raises(DebugInfoNotFound, match="not 00112233"):
        symbolize_offsets(
            build_id="00112233" * 5,
            binary=None,
            offsets=[0x10],
            symbol_paths=[binaries["c-dwarf5"].debug],
            cache_dir=cache_dir,
            system_debug_dirs=NO_SYSTEM_DIRS,
        )


def test_not_an_elf_file(tmp_path: Path, cache_dir: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    with pytest.raises(BadElf, match="not an ELF file"):
        symbolize_offsets(build_id=None, binary=text, offsets=[1], cache_dir=cache_dir)


def test_truncated_elf_file(binaries: dict[str, Built], tmp_path: Path, cache_dir: Path) -> None:
    cut = tmp_path / "cut"
    cut.write_bytes(binaries["c-dwarf5"].path.read_bytes()[:4000])
    with pytest.raises(BadElf, match="truncated"):
        symbolize_offsets(build_id=None, binary=cut, offsets=[1], cache_dir=cache_dir)


def test_neither_binary_nor_build_id(cache_dir: Path) -> None:
    with pytest.raises(UsageError):
        symbolize_offsets(build_id=None, binary=None, offsets=[1], cache_dir=cache_dir)


def test_file_offsets_are_mapped_through_the_program_headers(
    binaries: dict[str, Built], cache_dir: Path
) -> None:
    built = binaries["c-dwarf5"]
    listing = subprocess.run(
        ["readelf", "-lW", str(built.path)], check=True, capture_output=True, text=True
    ).stdout
    loads = [line.split() for line in listing.splitlines() if line.strip().startswith("LOAD")]
    summary = read_elf(built.path)
    assert loads
    for fields in loads:
        offset, vaddr, filesz = int(fields[1], 16), int(fields[2], 16), int(fields[4], 16)
        if filesz:
            last = offset + filesz - 1
            assert summary.module_offset_of_file_offset(last) == vaddr + filesz - 1
    assert summary.module_offset_of_file_offset(1 << 40) is None
    code = text_addresses(built.path)[10:20]
    as_module = symbolize_offsets(
        build_id=None,
        binary=built.path,
        offsets=code,
        cache_dir=cache_dir,
        system_debug_dirs=NO_SYSTEM_DIRS,
    )
    text = next(f for f in loads if "E" in f[6:-1])
    shift = int(text[2], 16) - int(text[1], 16)
    as_file = symbolize_offsets(
        build_id=None,
        binary=built.path,
        offsets=[c - shift for c in code],
        file_offsets=True,
        cache_dir=cache_dir,
        system_debug_dirs=NO_SYSTEM_DIRS,
    )
    assert [r.frames for r in as_file.results] == [r.frames for r in as_module.results]


def test_a_debug_file_found_later_is_not_hidden_by_a_symbol_table_index(
    binaries: dict[str, Built], cache_dir: Path, tmp_path: Path
) -> None:
    built = binaries["c-dwarf4"]
    offset = _function_offset(built, "total") + 8
    alone = tmp_path / "pricing"  # its .gnu_debuglink names a file that is not next to it
    shutil.copy(built.stripped, alone)
    only_symtab = tmp_path / "pricing.symtab"
    subprocess.run(["strip", "--strip-debug", "-o", str(only_symtab), str(built.path)], check=True)
    first = symbolize_offsets(
        build_id=None,
        binary=alone,
        offsets=[offset],
        symbol_paths=[only_symtab],
        cache_dir=cache_dir,
        system_debug_dirs=NO_SYSTEM_DIRS,
    )
    (frame,) = first.results[0].frames
    assert (frame.function, frame.file) == ("total", None)
    later = symbolize_offsets(
        build_id=None,
        binary=alone,
        offsets=[offset],
        symbol_paths=[built.debug],
        cache_dir=cache_dir,
        system_debug_dirs=NO_SYSTEM_DIRS,
    )
    assert later.results[0].frames[-1].function == "total"
    assert later.results[0].frames[-1].line is not None


def test_corrupt_dwarf_is_a_clear_error(
    binaries: dict[str, Built], tmp_path: Path, cache_dir: Path
) -> None:
    built = binaries["c-dwarf5"]
    listing = subprocess.run(
        ["readelf", "-SW", str(built.debug)], check=True, capture_output=True, text=True
    ).stdout
    line = next(x for x in listing.splitlines() if " .debug_info " in x)
    fields = line.split("]", 1)[1].split()
    offset, size = int(fields[3], 16), int(fields[4], 16)
    data = bytearray(built.debug.read_bytes())
    data[offset + 11 : offset + size] = b"\xff" * (size - 11)  # keep the unit header only
    broken = tmp_path / "pricing.debug"
    broken.write_bytes(bytes(data))
    with pytest.raises(BadElf, match="DWARF"):
        symbolize_offsets(
            build_id=None,
            binary=built.stripped,
            offsets=[_function_offset(built, "total")],
            symbol_paths=[broken],
            cache_dir=cache_dir,
            system_debug_dirs=NO_SYSTEM_DIRS,
        )
