"""Answer module offsets for one debug file from its per-build-id index, building the pieces of
the index that are missing (the unit map and symbols once, each compile unit when first hit)."""

from __future__ import annotations

import gc
import struct
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot.errors import BadElf
from bot.symbols import index_store
from bot.symbols.companions import AltFinder, Companions
from bot.symbols.elf_file import ET_EXEC, ElfSummary
from bot.symbols.index_model import CuIndex, CuMap, Symbols
from bot.symbols.line_program import END_OF_SEQUENCE
from bot.symbols.model import SymbolFrame

# what reading damaged DWARF or symbol tables raises; each becomes one BadElf line
DAMAGED = (ValueError, IndexError, KeyError, OverflowError, struct.error, RecursionError)


class ModuleSymbolizer:
    """Symbolize offsets with one ELF file that holds DWARF and/or a symbol table."""

    def __init__(
        self,
        summary: ElfSummary,
        *,
        cache_dir: Path | None = None,
        find_alt: AltFinder | None = None,
        search_dirs: Sequence[Path] = (),
    ) -> None:
        self.summary = summary
        self.companions = Companions(summary.path, find_alt=find_alt, search_dirs=search_dirs)
        root = cache_dir if cache_dir is not None else index_store.default_cache_dir()
        self.directory = root / "index" / index_store.index_key(summary)
        self._elf: Any = None
        self._dwarf: Any = None  # a DwarfReader once a piece of the index has to be built
        self._units: dict[int, CuIndex] = {}
        self._new: dict[int, CuIndex] = {}  # units indexed in this run, written on close
        self._builders: dict[int, Any] = {}  # CuBuilder of each unit indexed in this run
        self._pack_of: dict[int, str] = {}  # unit offset -> pack file holding it
        self._packs: dict[str, dict[int, Any]] = {}
        self._unlisted: list[int] = []  # units .debug_aranges leaves out, not read yet
        self._module_changed = False  # the unit map or symbols differ from the module file
        loaded = index_store.load_module(self.directory)
        if loaded is None:
            with _collector_paused():
                self.cu_map, self.symbols = self._build_module()
        else:
            self.cu_map, self.symbols, info = loaded
            self._unlisted = list(info.get("unlisted", []))
            self._pack_of = dict(info.get("packs", {}))

    # -- opening the file only when an index piece has to be built ------------------------
    def _open(self) -> Any:
        if self._elf is None:
            from bot.symbols.elf_image import ElfImage

            self._elf = ElfImage.open(self.summary.path)
        return self._elf

    def _reader(self) -> Any:
        if self._dwarf is None and self.summary.has_dwarf:
            from bot.symbols.dwarf_reader import DwarfReader
            from bot.symbols.sections import load_sections

            image = self._open()
            alt = self.companions.alt_reader(image)
            self._dwarf = DwarfReader(load_sections(image), alt=alt)
        return self._dwarf

    def _open_split(self, unit: Any, skeleton: Any) -> Any:
        return self.companions.open_split(self._reader(), unit, skeleton)

    def __enter__(self) -> ModuleSymbolizer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._flush()
        if self._elf is not None:
            self._elf.close()
        self._elf = self._dwarf = None
        self._builders.clear()

    def _build_module(self) -> tuple[CuMap, Symbols]:
        from array import array

        from bot.symbols.cu_map import build_cu_map
        from bot.symbols.symtab import read_symbols

        if self.summary.has_dwarf:  # the largest section inflates while the symbols are read
            self._open().inflate_ahead(".debug_info")
        try:
            symbols = read_symbols(self._open())
        except DAMAGED as error:
            raise BadElf(f"{self.summary.path}: bad symbol table: {error}") from error
        reader = self._reader()
        if reader is not None:
            try:
                cu_map, self._unlisted = build_cu_map(reader)
            except DAMAGED as error:
                raise BadElf(f"{self.summary.path}: bad DWARF: {error}") from error
        else:
            cu_map = CuMap(array("Q"), array("Q"), array("Q"))
        self._module_changed = True  # written on close, with the packs
        return cu_map, symbols

    def _save_module(self, cu_map: CuMap, symbols: Symbols) -> None:
        info: dict[str, Any] = {
            "path": str(self.summary.path),
            "unlisted": self._unlisted,
            "packs": self._pack_of,
        }
        info.update(self.companions.record())
        index_store.save_module(self.directory, cu_map, symbols, info)

    def _flush(self) -> None:
        """Write what this run added: its units as one pack, the module file when it changed."""
        if self.companions.alt_missing:
            self._new.clear()  # built without the alt file's names: build again when it is found
        if self._new:
            self._save_pack()
        if self._module_changed:
            self._save_module(self.cu_map, self.symbols)
            self._module_changed = False

    def _save_pack(self) -> None:
        """The units indexed in this run as one pack, recorded with the packs other processes
        recorded meanwhile."""
        on_disk = index_store.load_module(self.directory)
        if on_disk is not None:
            for offset, name in on_disk[2].get("packs", {}).items():
                self._pack_of.setdefault(offset, name)
        new = {offset: index_store.cu_to_value(unit) for offset, unit in self._new.items()}
        replaced = index_store.add_pack(self.directory, self._pack_of, new, self._load_pack)
        self._new.clear()
        self._save_module(self.cu_map, self.symbols)  # before the packs it replaces go
        self._module_changed = False
        for old in replaced:
            (self.directory / old).unlink(missing_ok=True)

    def _load_pack(self, name: str) -> dict[int, Any] | None:
        pack = self._packs.get(name)
        if pack is None:
            pack = index_store.load_pack(self.directory, name)
            if pack is not None:
                self._packs[name] = pack
        return pack

    def _find_unit(self, address: int) -> int:
        found = self.cu_map.find(address)
        # Units missing from .debug_aranges rarely hold code; read them only for an address
        # inside a function symbol (not alignment padding between functions) or with no
        # symbol table to tell.
        worth_it = not self.symbols.names or self.symbols.containing(address) >= 0
        if found < 0 and self._unlisted and worth_it:
            from bot.symbols.cu_map import add_units

            reader = self._reader()
            try:
                self.cu_map = add_units(reader, self.cu_map, self._unlisted)
            except DAMAGED as error:
                raise BadElf(f"{self.summary.path}: bad DWARF: {error}") from error
            self._unlisted = []
            self._module_changed = True
            found = self.cu_map.find(address)
        return found

    def _unit(self, offset: int, *addresses: int) -> CuIndex:
        """The unit's index, extended (or rebuilt, when it came from disk) to cover addresses."""
        unit = self._units.get(offset)
        if unit is None:
            name = self._pack_of.get(offset)
            pack = self._load_pack(name) if name is not None else None
            if pack is not None and offset in pack:
                unit = self._units[offset] = index_store.cu_from_value(pack[offset])
        if unit is not None and all(map(unit.coverage.covers, addresses)):
            return unit
        try:
            builder = self._builders.get(offset)
            if builder is None:
                reader = self._reader()
                if reader is None:
                    raise BadElf(f"{self.summary.path}: no DWARF")
                from bot.symbols.dwarf_cu import CuBuilder

                builder = self._builders[offset] = CuBuilder(reader, offset, self._open_split)
                for earlier in unit.coverage.wanted if unit is not None else ():
                    builder.cover(earlier)  # what the index on disk answered, it answers again
            for address in addresses:
                builder.cover(address)
            unit = builder.index()
        except DAMAGED as error:
            raise BadElf(f"{self.summary.path}: bad DWARF in unit {offset:#x}: {error}") from error
        if offset not in self.companions.split_missing:  # else built again once it is found
            self._new[offset] = unit
        self._units[offset] = unit
        return unit

    def prepare(self, offsets: Sequence[int], return_addresses: Sequence[bool] = ()) -> None:
        """Index, unit by unit, what lookups of these offsets will need: each unit's index is
        extended for all its addresses at once (lookups alone also work, one at a time)."""
        by_unit: dict[int, list[int]] = {}
        for i, offset in enumerate(offsets):
            address = self.address_of(offset)
            if i < len(return_addresses) and return_addresses[i] and address > 0:
                address -= 1
            cu_offset = self._find_unit(address)
            if cu_offset >= 0:
                by_unit.setdefault(cu_offset, []).append(address)
        with _collector_paused():
            for cu_offset, addresses in by_unit.items():
                self._unit(cu_offset, *addresses)
                # its rows and DIEs are no longer needed: a later miss rebuilds the unit
                self._builders.pop(cu_offset, None)

    # -- lookups ---------------------------------------------------------------------------
    def address_of(self, offset: int) -> int:
        """Module offsets count from the lowest load address; an executable that is not
        position independent also accepts its link-time addresses."""
        base = self.summary.load_base
        if self.summary.elf_type == ET_EXEC and offset >= base:
            return offset
        return offset + base

    def lookup(self, offset: int, *, return_address: bool = False) -> tuple[SymbolFrame, ...]:
        address = self.address_of(offset)
        query = address - 1 if return_address and address > 0 else address
        file: str | None = None
        line: int | None = None
        column: int | None = None
        unit: CuIndex | None = None
        cu_offset = self._find_unit(query)
        if cu_offset >= 0:
            unit = self._unit(cu_offset, query)
            row = bisect_right(unit.rows.address, query) - 1
            if row >= 0 and unit.rows.file[row] != END_OF_SEQUENCE:
                file = _file(unit, unit.rows.file[row])
                line = unit.rows.line[row]
                column = unit.rows.column[row] or None
        symbol = self.symbols.containing(query)
        symbol_offset = address - self.symbols.address[symbol] if symbol >= 0 else None
        if file is None and symbol >= 0:
            file = self.symbols.files[symbol]  # no line row: the symbol's STT_FILE, as addr2line
        scope_id = -1
        if unit is not None:
            segment = bisect_right(unit.segment_start, query) - 1
            if segment >= 0:
                scope_id = unit.segment_scope[segment]
        if unit is None or scope_id < 0:
            if symbol >= 0:
                found = self.symbols.names[symbol]
                origin = self.symbols.origin
                return (SymbolFrame(found, symbol_offset, file, line, column, source=origin),)
            if file is not None:
                return (SymbolFrame(None, None, file, line, column),)
            return ()
        frames: list[SymbolFrame] = []
        while scope_id >= 0:
            name, parent, entry, call_file, call_line, call_column, linkage = unit.scopes[scope_id]
            outermost = parent < 0
            function_offset = None
            source = "dwarf" if name is not None else None
            if outermost:
                function_offset = symbol_offset if symbol >= 0 else address - entry
                # as addr2line: a DWARF name that is not a linkage name (C++ `main`, members
                # named only by DW_AT_name, `.cold` parts) yields to the ELF symbol's
                if symbol >= 0 and (name is None or not linkage):
                    name = self.symbols.names[symbol]
                    source = self.symbols.origin
            frames.append(
                SymbolFrame(name, function_offset, file, line, column, not outermost, source)
            )
            file = _file(unit, call_file)
            line = call_line or None
            column = call_column or None
            scope_id = parent
        return tuple(frames)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Indexing makes many small tuples that all live on: collections meanwhile only cost."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _file(unit: CuIndex, index: int) -> str | None:
    return unit.files[index] if 0 <= index < len(unit.files) else None
