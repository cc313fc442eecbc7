"""A small, fast ELF reader (struct only, no pyelftools): build-id, type, load base, section
names and the .gnu_debuglink of a file. Used on every request, so it reads headers only."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from bot.errors import BadElf

PT_LOAD, PT_NOTE = 1, 4
SHT_NOTE, SHT_NOBITS = 7, 8
NT_GNU_BUILD_ID = 3
ET_EXEC, ET_CORE = 2, 4


@dataclass(frozen=True)
class ElfSummary:
    """What symbolization needs to know of an ELF file before reading its DWARF."""

    path: Path
    elf_type: int
    build_id: str | None
    load_base: int  # lowest PT_LOAD vaddr, page aligned: module offsets count from here
    sections: frozenset[str]  # names of sections with contents in the file
    debuglink: str | None
    loads: tuple[tuple[int, int, int], ...] = ()  # PT_LOAD (file offset, vaddr, file size)

    def module_offset_of_file_offset(self, file_offset: int) -> int | None:
        """The module offset (vaddr - load_base) of a byte at this file offset, as the kernel's
        `[file_offset,...]` names it; None when no loaded segment holds that byte."""
        for offset, vaddr, size in self.loads:
            if offset <= file_offset < offset + size:
                return file_offset - offset + vaddr - self.load_base
        return None

    @property
    def has_dwarf(self) -> bool:
        return ".debug_info" in self.sections or ".zdebug_info" in self.sections

    @property
    def has_symtab(self) -> bool:
        return bool({".symtab", ".dynsym", ".gnu_debugdata"} & self.sections)


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.handle = path.open("rb")
        except OSError as error:
            raise BadElf(f"{path}: cannot open: {error.strerror}") from error
        ident = self.handle.read(16)
        if len(ident) < 16 or ident[:4] != b"\x7fELF":
            self.handle.close()
            raise BadElf(f"{path}: not an ELF file")
        if ident[4] not in (1, 2) or ident[5] not in (1, 2):
            self.handle.close()
            raise BadElf(f"{path}: unknown ELF class or byte order")
        self.is64 = ident[4] == 2
        self.end = "<" if ident[5] == 1 else ">"

    def read(self, offset: int, size: int) -> bytes:
        self.handle.seek(offset)
        data = self.handle.read(size)
        if len(data) != size:
            raise BadElf(f"{self.path}: truncated (wanted {size} bytes at offset {offset:#x})")
        return data

    def close(self) -> None:
        self.handle.close()


def _notes(data: bytes, end: str) -> list[tuple[str, int, bytes]]:
    out = []
    pos = 0
    while pos + 12 <= len(data):
        namesz, descsz, kind = struct.unpack_from(end + "III", data, pos)
        pos += 12
        name = data[pos : pos + namesz].rstrip(b"\0").decode("latin-1")
        pos += (namesz + 3) & ~3
        desc = data[pos : pos + descsz]
        pos += (descsz + 3) & ~3
        out.append((name, kind, desc))
    return out


def read_elf(path: Path) -> ElfSummary:
    """Read the headers of an ELF file; BadElf when it is not one or is cut short."""
    reader = _Reader(path)
    try:
        return _summary(reader)
    except struct.error as error:
        raise BadElf(f"{path}: corrupt ELF headers") from error
    finally:
        reader.close()


def _summary(r: _Reader) -> ElfSummary:
    e = r.end
    if r.is64:
        fields = struct.unpack(e + "HHIQQQIHHHHHH", r.read(16, 48))
    else:
        fields = struct.unpack(e + "HHIIIIIHHHHHH", r.read(16, 36))
    e_type, _, _, _, phoff, shoff, _, _, phentsize, phnum, shentsize, shnum, shstrndx = fields
    build_id: str | None = None
    loads: list[int] = []
    segments: list[tuple[int, int, int]] = []
    phdrs = r.read(phoff, phentsize * phnum) if phnum and phoff else b""
    for i in range(phnum if phdrs else 0):
        if r.is64:
            p_type, _, p_offset, p_vaddr, _, p_filesz, _, p_align = struct.unpack_from(
                e + "IIQQQQQQ", phdrs, i * phentsize
            )
        else:
            p_type, p_offset, p_vaddr, _, p_filesz, _, _, p_align = struct.unpack_from(
                e + "IIIIIIII", phdrs, i * phentsize
            )
        if p_type == PT_LOAD:
            loads.append(p_vaddr & ~((p_align or 1) - 1) if p_align > 1 else p_vaddr)
            segments.append((p_offset, p_vaddr, p_filesz))
        elif p_type == PT_NOTE and build_id is None and e_type != ET_CORE and p_filesz < 1 << 20:
            build_id = _build_id(r, p_offset, p_filesz)
    sections: set[str] = set()
    debuglink: str | None = None
    if shoff and shnum and shentsize:
        table = r.read(shoff, shentsize * shnum)
        headers = []
        for i in range(shnum):
            if r.is64:
                name, kind, _, _, offset, size = struct.unpack_from(
                    e + "IIQQQQ", table, i * shentsize
                )
            else:
                name, kind, _, _, offset, size = struct.unpack_from(
                    e + "IIIIII", table, i * shentsize
                )
            headers.append((name, kind, offset, size))
        strtab = b""
        if shstrndx < len(headers):
            _, _, str_off, str_size = headers[shstrndx]
            strtab = r.read(str_off, str_size)
        for name_off, kind, offset, size in headers:
            name = strtab[name_off : strtab.find(b"\0", name_off)].decode("latin-1")
            if kind != SHT_NOBITS and size:
                sections.add(name)
            if kind == SHT_NOTE and build_id is None and kind != SHT_NOBITS and size < 1 << 20:
                build_id = _build_id(r, offset, size)
            if name == ".gnu_debuglink" and kind != SHT_NOBITS and size:
                raw = r.read(offset, size)
                debuglink = raw[: raw.find(b"\0")].decode("utf-8", "replace") or None
    return ElfSummary(
        path=r.path,
        elf_type=e_type,
        build_id=build_id,
        load_base=min(loads) if loads else 0,
        sections=frozenset(sections),
        debuglink=debuglink,
        loads=tuple(segments),
    )


def _build_id(r: _Reader, offset: int, size: int) -> str | None:
    for name, kind, desc in _notes(r.read(offset, size), r.end):
        if name == "GNU" and kind == NT_GNU_BUILD_ID and desc:
            return desc.hex()
    return None
