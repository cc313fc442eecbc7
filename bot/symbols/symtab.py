"""Function symbols of an ELF file (.symtab, else .dynsym), sorted by address, names demangled:
the fallback when DWARF says nothing, and the start that function offsets count from."""

from __future__ import annotations

import struct
from array import array
from typing import Any

from bot.symbols.demangle import demangle
from bot.symbols.index_model import Symbols

STT_NOTYPE, STT_FUNC, STT_GNU_IFUNC = 0, 2, 10
_BIND_RANK = {1: 0, 2: 1, 0: 2}  # GLOBAL before WEAK before LOCAL at the same address


def read_symbols(elf: Any) -> Symbols:
    """Read from a pyelftools ELFFile; struct does the per-symbol work (pyelftools is slow)."""
    section = elf.get_section_by_name(".symtab")
    if section is None or section["sh_type"] == "SHT_NOBITS":
        section = elf.get_section_by_name(".dynsym")
    rows: list[tuple[int, int, int, str]] = []
    if section is not None and section["sh_type"] != "SHT_NOBITS":
        strtab = elf.get_section(section["sh_link"]).data()
        data = section.data()
        little = elf.little_endian
        if elf.elfclass == 64:
            fmt, size = ("<" if little else ">") + "IBBHQQ", 24
        else:
            fmt, size = ("<" if little else ">") + "IIIBBH", 16
        for fields in struct.iter_unpack(fmt, data[: len(data) - len(data) % size]):
            if elf.elfclass == 64:
                name_off, info, _, shndx, value, sym_size = fields
            else:
                name_off, value, sym_size, info, _, shndx = fields
            kind = info & 0xF
            if shndx == 0 or kind not in (STT_FUNC, STT_GNU_IFUNC) or not name_off:
                continue
            name = strtab[name_off : strtab.find(b"\0", name_off)].decode("utf-8", "replace")
            rows.append((value, _BIND_RANK.get(info >> 4, 3), sym_size, name))
    rows.sort(key=lambda r: (r[0], r[1], -r[2]))
    symbols = Symbols(array("Q"), array("Q"), [])
    for value, _, sym_size, name in rows:
        symbols.address.append(value)
        symbols.size.append(sym_size)
        symbols.names.append(demangle(name))
    return symbols
