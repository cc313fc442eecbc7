"""Find the file holding the symbols for a build-id on local disk: the paths given, the binary,
its `.gnu_debuglink`, then the system debug directory; other build-ids are skipped."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import BadElf
from bot.symbols.elf_file import ElfSummary, read_elf

if TYPE_CHECKING:
    from bot.symbols.dwarf_alt import AltLink

SYSTEM_DEBUG_DIRS = (Path("/usr/lib/debug"),)


@dataclass(frozen=True, eq=False, repr=False)
class LocalSymbols:
    """best: a file with DWARF for the build-id; fallback: one with only a symbol table."""

    best: ElfSummary | None
    fallback: ElfSummary | None
    skipped: tuple[str, ...]  # why candidates were passed over (wrong build-id, not ELF, ...)


def build_id_paths(directory: Path, build_id: str) -> list[Path]:
    head, rest = build_id[:2], build_id[2:]
    return [directory / ".build-id" / head / f"{rest}.debug", directory / ".build-id" / head / rest]


def find_local(
    *,
    build_id: str | None,
    binary: ElfSummary | None,
    symbol_paths: Sequence[Path],
    system_dirs: Sequence[Path] = SYSTEM_DEBUG_DIRS,
) -> LocalSymbols:
    candidates: list[Path] = []
    for path in symbol_paths:
        if path.is_dir():
            if build_id:
                candidates.extend(build_id_paths(path, build_id))
            if binary is not None and binary.debuglink:
                candidates.append(path / binary.debuglink)
                candidates.append(
                    path / str(binary.path.parent.resolve()).lstrip("/") / binary.debuglink
                )
        else:
            candidates.append(path)
    if binary is not None:
        candidates.append(binary.path)
        if binary.debuglink:
            here = binary.path.parent
            candidates += [here / binary.debuglink, here / ".debug" / binary.debuglink]
            for directory in system_dirs:
                candidates.append(directory / str(here.resolve()).lstrip("/") / binary.debuglink)
    if build_id:
        for directory in system_dirs:
            candidates.extend(build_id_paths(directory, build_id))
    best: ElfSummary | None = None
    fallback: ElfSummary | None = None
    skipped: list[str] = []
    seen: set[Path] = set()
    for path in candidates:
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        try:
            summary = binary if binary is not None and path == binary.path else read_elf(path)
        except BadElf as error:
            skipped.append(str(error))
            continue
        assert summary is not None
        if build_id and summary.build_id != build_id:
            skipped.append(f"{path}: build-id {summary.build_id or 'none'}, not {build_id}")
            continue
        if summary.has_dwarf:
            best = summary
            break
        if fallback is None and summary.has_symtab:
            fallback = summary
    return LocalSymbols(best, fallback, tuple(skipped))


def find_alt(
    link: AltLink,
    debug_file: Path,
    *,
    symbol_paths: Sequence[Path] = (),
    system_dirs: Sequence[Path] = SYSTEM_DEBUG_DIRS,
) -> Path | None:
    """The dwz file a debug file links to, on local disk (the link's path, `.dwz/NAME`, then
    `.build-id/`), taken only when its build-id or .debug_sup checksum is the one linked."""
    name = Path(link.name)
    candidates = [name if name.is_absolute() else debug_file.parent / name]
    candidates.append(debug_file.parent / ".dwz" / name.name)
    for directory in [*(p for p in symbol_paths if p.is_dir()), *system_dirs]:
        candidates.append(directory / ".dwz" / name.name)
        if not link.sup:
            candidates.extend(build_id_paths(directory, link.identity))
    for path in dict.fromkeys(candidates):
        if path.is_file() and alt_matches(path, link):
            return path
    return None


def alt_matches(path: Path, link: AltLink) -> bool:
    try:
        if not link.sup:
            return read_elf(path).build_id == link.identity
        from bot.symbols.dwarf_alt import sup_checksum
        from bot.symbols.elf_image import ElfImage

        image = ElfImage.open(path)
        try:
            return sup_checksum(image) == link.identity
        finally:
            image.close()
    except BadElf:
        return False
