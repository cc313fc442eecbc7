"""The modules of a core file from the core alone (like `eu-unstrip -n --core`): NT_FILE names
the mapped files, their dumped ELF headers give build-ids and extents, NT_AUXV the vDSO."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from bot.errors import BadElf

NT_AUXV, NT_FILE, NT_GNU_BUILD_ID = 6, 0x46494C45, 3
AT_SYSINFO_EHDR = 33
PT_LOAD, PT_NOTE = 1, 4
ET_CORE = 4


@dataclass(frozen=True)
class CoreModule:
    """A module mapped in a crashed process, from the core's notes."""

    name: str  # the file's path as mapped (NT_FILE), or "[vdso]"
    start: int  # load address of the module's first byte
    size: int  # up to the end of its highest segment
    build_id: str | None
    build_id_address: int | None  # where the build-id note's bytes are in the process


class _Core:
    def __init__(self, path: Path) -> None:
        try:
            self.data = path.read_bytes()
        except OSError as error:
            raise BadElf(f"{path}: cannot read: {error.strerror}") from error
        data = self.data
        if len(data) < 64 or data[:4] != b"\x7fELF":
            raise BadElf(f"{path}: not an ELF file")
        self.is64 = data[4] == 2
        self.end = "<" if data[5] == 1 else ">"
        self.word = "Q" if self.is64 else "I"
        self.word_size = 8 if self.is64 else 4
        e = self.end
        try:
            if self.is64:
                e_type, _, _, _, phoff, _, _, _, phentsize, phnum = struct.unpack_from(
                    e + "HHIQQQIHHH", data, 16
                )
            else:
                e_type, _, _, _, phoff, _, _, _, phentsize, phnum = struct.unpack_from(
                    e + "HHIIIIIHHH", data, 16
                )
        except struct.error as error:
            raise BadElf(f"{path}: truncated ELF header") from error
        if e_type != ET_CORE:
            raise BadElf(f"{path}: not a core file")
        self.loads: list[tuple[int, int, int]] = []  # (vaddr, offset, filesz)
        self.notes: list[tuple[int, int]] = []  # (offset, size)
        for kind, offset, vaddr, filesz, _, _ in self._phdrs(data, phoff, phentsize, phnum):
            if kind == PT_LOAD and filesz:
                self.loads.append((vaddr, offset, filesz))
            elif kind == PT_NOTE:
                self.notes.append((offset, filesz))
        self.loads.sort()

    def _phdrs(
        self, data: bytes, phoff: int, phentsize: int, phnum: int
    ) -> list[tuple[int, int, int, int, int, int]]:
        """(type, offset, vaddr, filesz, memsz, align) of each program header in data."""
        out = []
        e = self.end
        for i in range(phnum):
            at = phoff + i * phentsize
            try:
                if self.is64:
                    kind, _, offset, vaddr, _, filesz, memsz, align = struct.unpack_from(
                        e + "IIQQQQQQ", data, at
                    )
                else:
                    kind, offset, vaddr, _, filesz, memsz, _, align = struct.unpack_from(
                        e + "IIIIIIII", data, at
                    )
            except struct.error:
                break
            out.append((kind, offset, vaddr, filesz, memsz, align))
        return out

    def read(self, address: int, size: int) -> bytes | None:
        """Process memory the core holds, or None when that part was not dumped."""
        for vaddr, offset, filesz in self.loads:
            if vaddr <= address and address + size <= vaddr + filesz:
                start = offset + address - vaddr
                chunk = self.data[start : start + size]
                return chunk if len(chunk) == size else None
        return None

    def iter_notes(self) -> list[tuple[str, int, bytes]]:
        out = []
        for offset, size in self.notes:
            blob = self.data[offset : offset + size]
            pos = 0
            while pos + 12 <= len(blob):
                namesz, descsz, kind = struct.unpack_from(self.end + "III", blob, pos)
                pos += 12
                name = blob[pos : pos + namesz].rstrip(b"\0").decode("latin-1")
                pos += (namesz + 3) & ~3
                out.append((name, kind, blob[pos : pos + descsz]))
                pos += (descsz + 3) & ~3
        return out


def _mapped_files(core: _Core, desc: bytes) -> list[tuple[str, int, int, int]]:
    """NT_FILE: (path, start, end, file offset in bytes) of each mapping."""
    w, size = core.word, core.word_size
    count, page = struct.unpack_from(core.end + w + w, desc, 0)
    entries = [
        struct.unpack_from(core.end + w * 3, desc, 2 * size + i * 3 * size) for i in range(count)
    ]
    names = desc[2 * size + count * 3 * size :].split(b"\0")
    return [
        (names[i].decode("utf-8", "replace"), start, end, offset * page)
        for i, (start, end, offset) in enumerate(entries)
        if i < len(names)
    ]


def _module_at(core: _Core, name: str, base: int) -> CoreModule | None:
    header = core.read(base, 64 if core.is64 else 52)
    if header is None or header[:4] != b"\x7fELF":
        return None
    e = core.end
    if core.is64:
        phoff, phentsize, phnum = (
            struct.unpack_from(e + "Q", header, 32)[0],
            *struct.unpack_from(e + "HH", header, 54),
        )
    else:
        phoff, phentsize, phnum = (
            struct.unpack_from(e + "I", header, 28)[0],
            *struct.unpack_from(e + "HH", header, 42),
        )
    table = core.read(base + phoff, phentsize * phnum)
    if table is None:
        return None
    phdrs = core._phdrs(table, 0, phentsize, phnum)
    loads = [p for p in phdrs if p[0] == PT_LOAD]
    if not loads:
        return None
    first = min(p[2] & ~((p[5] or 1) - 1) for p in loads)
    bias = base - first
    size = max(p[2] + p[4] for p in loads) - first
    build_id = address = None
    for kind, _, vaddr, filesz, _, _ in phdrs:
        if kind != PT_NOTE or build_id is not None:
            continue
        blob = core.read(bias + vaddr, filesz)
        pos = 0
        while blob is not None and pos + 12 <= len(blob):
            namesz, descsz, note_kind = struct.unpack_from(e + "III", blob, pos)
            desc_at = pos + 12 + ((namesz + 3) & ~3)
            if blob[pos + 12 : pos + 12 + namesz].rstrip(b"\0") == b"GNU" and (
                note_kind == NT_GNU_BUILD_ID
            ):
                build_id = blob[desc_at : desc_at + descsz].hex()
                address = bias + vaddr + desc_at
                break
            pos = desc_at + ((descsz + 3) & ~3)
    return CoreModule(name, base, size, build_id, address)


def list_core_modules(path: Path) -> list[CoreModule]:
    """Every ELF module mapped in the crashed process, by start address."""
    core = _Core(path)
    modules: list[CoreModule] = []
    bases: dict[str, int] = {}
    for name, kind, desc in core.iter_notes():
        if name == "CORE" and kind == NT_FILE:
            try:
                mappings = _mapped_files(core, desc)
            except struct.error as error:
                raise BadElf(f"{path}: corrupt NT_FILE note") from error
            for file, start, _, offset in mappings:
                if offset == 0 and (file not in bases or start < bases[file]):
                    bases[file] = start
        elif name == "CORE" and kind == NT_AUXV:
            pairs = struct.iter_unpack(
                core.end + core.word * 2,
                desc[: len(desc) // (2 * core.word_size) * 2 * core.word_size],
            )
            for key, value in pairs:
                if key == AT_SYSINFO_EHDR and value:
                    bases.setdefault("[vdso]", value)
    for file, base in bases.items():
        module = _module_at(core, file, base)
        if module is not None:
            modules.append(module)
    return sorted(modules, key=lambda m: m.start)
