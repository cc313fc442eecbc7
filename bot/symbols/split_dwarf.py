"""Split DWARF (`-gsplit-dwarf`, DWARF 5 and the DWARF 4 GNU extension): a skeleton unit names
the `.dwo` (or `.dwp` package entry) holding its functions and inline chains, by DWO id."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from bot.errors import BadElf
from bot.symbols.dwarf_die import Die, Unit
from bot.symbols.dwarf_forms import AT_ADDR_BASE, AT_COMP_DIR, AT_GNU_ADDR_BASE, AT_GNU_RANGES_BASE
from bot.symbols.dwarf_reader import DwarfReader
from bot.symbols.elf_image import ElfImage
from bot.symbols.sections import Sections

AT_DWO_NAME, AT_GNU_DWO_NAME, AT_GNU_DWO_ID = 0x76, 0x2130, 0x2131
_DWO = {
    "info": ".debug_info.dwo",
    "abbrev": ".debug_abbrev.dwo",
    "str": ".debug_str.dwo",
    "str_offsets": ".debug_str_offsets.dwo",
    "rnglists": ".debug_rnglists.dwo",
}
# .debug_cu_index column ids -> Sections fields (DWARF 5; GNU version 2 shares 1, 3 and 6)
_COLUMNS_V5 = {1: "info", 3: "abbrev", 6: "str_offsets", 8: "rnglists"}
_COLUMNS_V2 = {1: "info", 3: "abbrev", 6: "str_offsets"}


@dataclass(frozen=True, eq=False, repr=False)
class Skeleton:
    """What a skeleton unit says of its split unit: DWO id, file name, directory."""

    dwo_id: int | None
    dwo_name: str
    comp_dir: str | None


def skeleton_of(reader: DwarfReader, unit: Unit, top: Die) -> Skeleton | None:
    """The split unit a skeleton unit stands for; None for an ordinary unit."""
    named = top.get(AT_DWO_NAME) or top.get(AT_GNU_DWO_NAME)
    name = reader.string(unit, *named) if named is not None else None
    if not name:
        return None
    gnu_id = top.get(AT_GNU_DWO_ID)
    dwo_id = unit.dwo_id if unit.dwo_id is not None else (gnu_id[1] if gnu_id else None)
    comp = top.get(AT_COMP_DIR)
    return Skeleton(dwo_id, name, reader.string(unit, *comp) if comp is not None else None)


class SplitUnits:
    """Opens the split unit of each skeleton: from a .dwp package when there is one, else the
    .dwo file, relative to DW_AT_comp_dir, then in each search directory."""

    def __init__(
        self, main: DwarfReader, *, search_dirs: Sequence[Path], packages: Sequence[Path]
    ) -> None:
        self.main = main
        self.search_dirs = list(search_dirs)
        self.package_paths = list(packages)
        self._packages: list[tuple[Sections, dict[int, dict[str, tuple[int, int]]]]] | None = None
        self.found: set[str] = set()  # the .dwo/.dwp files used, for the record

    def open(self, unit: Unit, skeleton: Skeleton) -> tuple[DwarfReader, Unit] | None:
        sections = self._from_package(skeleton.dwo_id) or self._from_dwo(skeleton)
        if sections is None:
            return None
        reader = DwarfReader(replace(sections, addr=self.main.s.addr, ranges=self.main.s.ranges))
        for offset in reader.unit_offsets():
            split = reader.unit(offset)
            top = split.top[0] or {}
            gnu_id = top.get(AT_GNU_DWO_ID)
            found_id = split.dwo_id if split.dwo_id is not None else (gnu_id[1] if gnu_id else None)
            if skeleton.dwo_id is None or found_id == skeleton.dwo_id:
                address_base = unit.base.get(AT_ADDR_BASE, unit.base.get(AT_GNU_ADDR_BASE))
                if address_base is not None:
                    split.base[AT_ADDR_BASE] = address_base
                ranges_base = _ranges_base(self.main, unit)
                if ranges_base is not None:
                    split.base[AT_GNU_RANGES_BASE] = ranges_base
                return reader, split
        return None

    def _from_dwo(self, skeleton: Skeleton) -> Sections | None:
        name = Path(skeleton.dwo_name)
        candidates = [name] if name.is_absolute() else []
        if not name.is_absolute() and skeleton.comp_dir:
            candidates.append(Path(skeleton.comp_dir) / name)
        for directory in self.search_dirs:
            candidates += [directory / name, directory / name.name]
        for path in dict.fromkeys(candidates):
            if path.is_file():
                try:
                    image = ElfImage.open(path)
                except BadElf:
                    continue
                try:
                    found = {field: image.section(section) for field, section in _DWO.items()}
                finally:
                    image.close()
                if found["info"]:
                    self.found.add(str(path))
                    return Sections(**{k: v for k, v in found.items() if v is not None})
        return None

    def _from_package(self, dwo_id: int | None) -> Sections | None:
        if dwo_id is None:
            return None
        if self._packages is None:
            self._packages = [p for p in map(_read_package, self.package_paths) if p is not None]
        for whole, units in self._packages:
            columns = units.get(dwo_id)
            if columns is None:
                continue
            parts = {"str": whole.str}
            for field, (offset, size) in columns.items():
                parts[field] = getattr(whole, field)[offset : offset + size]
            return Sections(**parts)
        return None


def _ranges_base(main: DwarfReader, unit: Unit) -> int | None:
    top = unit.top[0] or {}
    found = top.get(AT_GNU_RANGES_BASE)
    return found[1] if found is not None else None


def _read_package(path: Path) -> tuple[Sections, dict[int, dict[str, tuple[int, int]]]] | None:
    """A .dwp's sections and its .debug_cu_index: DWO id -> field -> (offset, size)."""
    if not path.is_file():
        return None
    try:
        image = ElfImage.open(path)
    except BadElf:
        return None
    try:
        index = image.section(".debug_cu_index")
        parts = {field: image.section(section) for field, section in _DWO.items()}
    finally:
        image.close()
    if index is None or len(index) < 16:
        return None
    version, columns, count, slots = struct.unpack_from("<IIII", index, 0)
    names = _COLUMNS_V5 if version == 5 else _COLUMNS_V2
    ids_at = 16
    rows_at = ids_at + 8 * slots
    columns_at = rows_at + 4 * slots
    offsets_at = columns_at + 4 * columns
    sizes_at = offsets_at + 4 * count * columns
    if sizes_at + 4 * count * columns > len(index):
        return None
    kinds = struct.unpack_from(f"<{columns}I", index, columns_at)
    units: dict[int, dict[str, tuple[int, int]]] = {}
    for slot in range(slots):
        (row,) = struct.unpack_from("<I", index, rows_at + 4 * slot)
        if row == 0 or row > count:
            continue
        (signature,) = struct.unpack_from("<Q", index, ids_at + 8 * slot)
        offsets = struct.unpack_from(f"<{columns}I", index, offsets_at + 4 * columns * (row - 1))
        sizes = struct.unpack_from(f"<{columns}I", index, sizes_at + 4 * columns * (row - 1))
        units[signature] = {
            names[kind]: (offsets[i], sizes[i]) for i, kind in enumerate(kinds) if kind in names
        }
    sections = Sections(**{k: v for k, v in parts.items() if v is not None})
    return sections, units
