"""Function symbols of an ELF file (.symtab, else .dynsym) sorted by address, demangled, each
with its STT_FILE's file: names when DWARF says nothing, and where function offsets count from."""

from __future__ import annotations

import struct
from array import array

from bot.symbols.demangle import demangle
from bot.symbols.elf_image import ElfImage
from bot.symbols.index_model import Symbols

STT_NOTYPE, STT_FUNC, STT_FILE, STT_GNU_IFUNC = 0, 2, 4, 10
STB_LOCAL = 0
_BIND_RANK = {1: 0, 2: 1, 0: 2}  # GLOBAL before WEAK before LOCAL at the same address
_MANGLED = ("_Z", "_R")  # the names demangle() changes: C++ and Rust

Row = tuple[int, int, int, str, str | None]  # address, binding rank, size, raw name, file


def symbol_rows(image: ElfImage, section: str) -> list[Row]:
    """The function symbols of one symbol table section, each with the last STT_FILE before it
    (for globals only while no STT_FILE followed a symbol), as binutils' elf_find_function."""
    data = image.section(section)
    if data is None:
        return []
    strtab = image.section(image.link_of(section)) or b""
    if image.is64:
        entries = struct.iter_unpack(image.end + "IBBHQQ", data[24 : len(data) - len(data) % 24])
    else:  # the same fields in the 64-bit order
        entries = (
            (name, info, other, shndx, value, size)
            for name, value, size, info, other, shndx in struct.iter_unpack(
                image.end + "IIIBBH", data[16 : len(data) - len(data) % 16]
            )
        )
    rows: list[Row] = []
    file: str | None = None
    symbol_seen = file_after_symbol = False
    for name_off, info, _, shndx, value, sym_size in entries:
        kind = info & 0xF
        if kind == STT_FILE:
            end = strtab.find(b"\0", name_off)
            file = strtab[name_off:end].decode("utf-8", "replace") or None
            file_after_symbol = symbol_seen
            continue
        if kind != STT_FUNC and kind != STT_GNU_IFUNC and kind != STT_NOTYPE:
            continue
        symbol_seen = True
        if shndx == 0 or kind == STT_NOTYPE or not name_off:
            continue
        name = strtab[name_off : strtab.find(b"\0", name_off)].decode("utf-8", "replace")
        bind = info >> 4
        own_file = file if bind == STB_LOCAL or not file_after_symbol else None
        rows.append((value, _BIND_RANK.get(bind, 3), sym_size, name, own_file))
    return rows


def read_symbols(image: ElfImage) -> Symbols:
    """.symtab; else .dynsym plus the MiniDebugInfo symbol table in .gnu_debugdata, which holds
    the functions .dynsym lacks (as gdb and elfutils read it); else .dynsym alone."""
    if image.has(".symtab"):
        return to_symbols(symbol_rows(image, ".symtab"), ".symtab")
    rows = symbol_rows(image, ".dynsym")
    mini = _mini_debuginfo(image)
    if mini is not None and mini.has(".symtab"):
        return to_symbols(rows + symbol_rows(mini, ".symtab"), ".gnu_debugdata")
    return to_symbols(rows, ".dynsym")


def _mini_debuginfo(image: ElfImage) -> ElfImage | None:
    """The xz-compressed ELF image in .gnu_debugdata; None when absent or unreadable (the
    dynamic symbols still answer)."""
    packed = image.section(".gnu_debugdata")
    if packed is None:
        return None
    import lzma

    from bot.errors import BadElf

    try:
        return ElfImage(lzma.decompress(packed), name=f"{image.name} .gnu_debugdata")
    except (lzma.LZMAError, BadElf):
        return None


def to_symbols(rows: list[Row], origin: str) -> Symbols:
    """Sorted by address, the preferred name first among aliases; duplicates dropped."""
    rows = sorted(dict.fromkeys(rows), key=lambda r: (r[0], r[1], -r[2]))
    return Symbols(
        array("Q", [row[0] for row in rows]),
        array("Q", [row[2] for row in rows]),
        [demangle(row[3]) if row[3].startswith(_MANGLED) else row[3] for row in rows],
        [row[4] for row in rows],
        origin,
    )
