"""The sections of an ELF file (or of an ELF image in memory, such as MiniDebugInfo) by name,
inflated when compressed: SHF_COMPRESSED with zlib or zstd, and the older `.zdebug_*` form."""

from __future__ import annotations

import mmap
import struct
import zlib
from pathlib import Path
from typing import Any

from bot.errors import BadElf

SHT_NOBITS = 8
SHF_COMPRESSED = 0x800
ELFCOMPRESS_ZLIB, ELFCOMPRESS_ZSTD = 1, 2


class ElfImage:
    """Section headers read once; section contents read (and inflated) on request."""

    def __init__(self, data: Any, *, name: str = "<memory>") -> None:
        self.data = data  # bytes, or an mmap of the file (slices of either are bytes)
        self.name = name
        if len(data) < 64 or data[:4] != b"\x7fELF" or data[4] not in (1, 2):
            raise BadElf(f"{name}: not an ELF file")
        self.is64 = data[4] == 2
        self.little = data[5] == 1
        self.end = "<" if self.little else ">"
        try:
            self._headers = self._read_headers()
        except struct.error as error:
            raise BadElf(f"{name}: corrupt section headers") from error
        self._ahead: dict[str, tuple[Any, list[tuple[bytes | None, BaseException | None]]]] = {}

    @classmethod
    def open(cls, path: Path) -> ElfImage:
        """Map the file (only the pages of sections read are ever loaded)."""
        try:
            with path.open("rb") as handle:
                mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as error:
            raise BadElf(f"{path}: cannot read: {error}") from error
        try:
            return cls(mapped, name=str(path))
        except BadElf:
            mapped.close()
            raise

    def close(self) -> None:
        for worker, _ in self._ahead.values():
            worker.join()  # it reads the mapping
        self._ahead.clear()
        if isinstance(self.data, mmap.mmap):
            self.data.close()

    def inflate_ahead(self, name: str) -> None:
        """Start reading debug_section(name) on another thread (zlib lets go of the GIL while
        it inflates), for the next debug_section(name) to collect."""
        found = self._headers.get(name)
        if name in self._ahead or found is None or not found[1] & SHF_COMPRESSED:
            return
        import threading

        box: list[tuple[bytes | None, BaseException | None]] = []

        def work() -> None:
            try:
                box.append((self._debug_section(name), None))
            except BaseException as error:  # raised again where the section is asked for
                box.append((None, error))

        worker = threading.Thread(target=work, name=f"inflate {name}", daemon=True)
        worker.start()
        self._ahead[name] = (worker, box)

    def _read_headers(self) -> dict[str, tuple[int, int, int, int, int]]:
        e, data = self.end, self.data
        if self.is64:
            shoff, shentsize, shnum, shstrndx = (
                struct.unpack_from(e + "Q", data, 0x28)[0],
                *struct.unpack_from(e + "HHH", data, 0x3A),
            )
            fmt = e + "IIQQQQIIQQ"
        else:
            shoff, shentsize, shnum, shstrndx = (
                struct.unpack_from(e + "I", data, 0x20)[0],
                *struct.unpack_from(e + "HHH", data, 0x2E),
            )
            fmt = e + "IIIIIIIIII"
        rows = [struct.unpack_from(fmt, data, shoff + i * shentsize) for i in range(shnum)]
        if not rows or shstrndx >= len(rows):
            return {}
        names_at, names_size = rows[shstrndx][4], rows[shstrndx][5]
        names = data[names_at : names_at + names_size]
        headers: dict[str, tuple[int, int, int, int, int]] = {}
        for index, row in enumerate(rows):
            name_off, kind, flags, _, offset, size, link = row[:7]
            end = names.find(b"\0", name_off)
            name = names[name_off : end if end >= 0 else None].decode("latin-1")
            headers.setdefault(name, (kind, flags, offset, size, link))
            headers.setdefault(f"#{index}", (kind, flags, offset, size, link))
        return headers

    def has(self, name: str) -> bool:
        found = self._headers.get(name)
        return found is not None and found[0] != SHT_NOBITS and found[3] > 0

    def link_of(self, name: str) -> str:
        """The header key of the section a section's sh_link names (a symtab's strings)."""
        return f"#{self._headers[name][4]}"

    def section(self, name: str) -> bytes | None:
        """The contents of a section, inflated; None when absent or without contents."""
        found = self._headers.get(name)
        if found is None or found[0] == SHT_NOBITS or found[3] == 0:
            return None
        _, flags, offset, size, _ = found
        raw: bytes = self.data[offset : offset + size]
        if len(raw) != size:
            raise BadElf(f"{self.name}: section {name} runs past the end of the file")
        if flags & SHF_COMPRESSED:
            return self._inflate(name, raw)
        if name.startswith(".zdebug") and raw.startswith(b"ZLIB") and len(raw) >= 12:
            expected = int.from_bytes(raw[4:12], "big")
            return _zlib(self.name, name, raw[12:], expected)
        return raw

    def debug_section(self, name: str) -> bytes | None:
        """`.debug_X`, or its legacy compressed twin `.zdebug_X`."""
        ahead = self._ahead.pop(name, None)
        if ahead is None:
            return self._debug_section(name)
        worker, box = ahead
        worker.join()
        found, error = box[0]
        if error is not None:
            raise error
        return found

    def _debug_section(self, name: str) -> bytes | None:
        found = self.section(name)
        if found is None and name.startswith(".debug"):
            found = self.section(".z" + name[1:])
        return found

    def _inflate(self, name: str, raw: bytes) -> bytes:
        if self.is64:
            kind, _, size, _ = struct.unpack_from(self.end + "IIQQ", raw, 0)
            body = raw[24:]
        else:
            kind, size, _ = struct.unpack_from(self.end + "III", raw, 0)
            body = raw[12:]
        if kind == ELFCOMPRESS_ZLIB:
            return _zlib(self.name, name, body, size)
        if kind == ELFCOMPRESS_ZSTD:
            return _zstd(self.name, name, body, size)
        raise BadElf(f"{self.name}: section {name} uses unknown compression type {kind:#x}")


def _zlib(path: str, name: str, body: bytes, size: int) -> bytes:
    try:
        # one output buffer of the final size (no growing and joining); deflate cannot expand
        # more than ~1032:1, which bounds what a damaged header can make us allocate
        out = zlib.decompress(body, bufsize=max(1, min(size, 1032 * len(body) + 64)))
    except zlib.error as error:
        raise BadElf(f"{path}: section {name}: bad zlib data ({error})") from error
    if len(out) != size:
        raise BadElf(f"{path}: section {name}: inflated to {len(out)} bytes, not {size}")
    return out


def _zstd(path: str, name: str, body: bytes, size: int) -> bytes:
    import zstandard  # loaded only for zstd sections: most files never need it

    try:
        out = zstandard.ZstdDecompressor().decompress(body, max_output_size=size)
    except zstandard.ZstdError as error:
        raise BadElf(f"{path}: section {name}: bad zstd data ({error})") from error
    if len(out) != size:
        raise BadElf(f"{path}: section {name}: inflated to {len(out)} bytes, not {size}")
    return out
