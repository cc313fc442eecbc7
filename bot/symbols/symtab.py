"""Function symbols of an ELF file (.symtab, else .dynsym), sorted by address, names demangled:
the fallback when DWARF says nothing, and the start that function offsets count from."""

from __future__ import annotations

import struct
from array import array

from bot.symbols.demangle import demangle
from bot.symbols.elf_image import ElfImage
from bot.symbols.index_model import Symbols

STT_NOTYPE, STT_FUNC, STT_GNU_IFUNC = 0, 2, 10
_BIND_RANK = {1: 0, 2: 1, 0: 2}  # GLOBAL before WEAK before LOCAL at the same address

Row = tuple[int, int, int, str]  # address, binding rank, size, raw name


def symbol_rows(image: ElfImage, section: str) -> list[Row]:
    """The function symbols of one symbol table section (struct does the per-symbol work)."""
    data = image.section(section)
    if data is None:
        return []
    strtab = image.section(image.link_of(section)) or b""
    if image.is64:
        fmt, size = image.end + "IBBHQQ", 24
    else:
        fmt, size = image.end + "IIIBBH", 16
    rows: list[Row] = []
    for fields in struct.iter_unpack(fmt, data[: len(data) - len(data) % size]):
        if image.is64:
            name_off, info, _, shndx, value, sym_size = fields
        else:
            name_off, value, sym_size, info, _, shndx = fields
        kind = info & 0xF
        if shndx == 0 or kind not in (STT_FUNC, STT_GNU_IFUNC) or not name_off:
            continue
        name = strtab[name_off : strtab.find(b"\0", name_off)].decode("utf-8", "replace")
        rows.append((value, _BIND_RANK.get(info >> 4, 3), sym_size, name))
    return rows


def read_symbols(image: ElfImage) -> Symbols:
    section = ".symtab" if image.has(".symtab") else ".dynsym"
    return to_symbols(symbol_rows(image, section))


def to_symbols(rows: list[Row]) -> Symbols:
    """Sorted by address, the preferred name first among aliases; duplicates dropped."""
    rows = sorted(dict.fromkeys(rows), key=lambda r: (r[0], r[1], -r[2]))
    symbols = Symbols(array("Q"), array("Q"), [])
    for value, _, sym_size, name in rows:
        symbols.address.append(value)
        symbols.size.append(sym_size)
        symbols.names.append(demangle(name))
    return symbols
