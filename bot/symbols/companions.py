"""The files a debug file needs beside it (the dwz file its link names, the .dwo/.dwp files of
its skeleton units); remembers what was missing, so index pieces built without it are not cached."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.errors import BadElf

if TYPE_CHECKING:
    from bot.symbols.dwarf_alt import AltLink
    from bot.symbols.dwarf_die import Unit
    from bot.symbols.dwarf_reader import DwarfReader
    from bot.symbols.elf_image import ElfImage
    from bot.symbols.split_dwarf import Skeleton

AltFinder = Callable[["AltLink", Path], "Path | None"]


class Companions:
    def __init__(
        self, debug_file: Path, *, find_alt: AltFinder | None, search_dirs: Sequence[Path]
    ) -> None:
        self.debug_file = debug_file
        self.search_dirs = [debug_file.parent, *search_dirs]  # for .dwo and .dwp files
        self._find_alt = find_alt
        self.alt: tuple[AltLink, Path | None] | None = None  # the link, and the file found
        self._split: Any = None  # SplitUnits, once a skeleton unit is indexed
        self.split_missing: set[int] = set()  # skeleton units whose .dwo was not found

    @property
    def alt_missing(self) -> bool:
        return self.alt is not None and self.alt[1] is None

    def alt_reader(self, image: ElfImage) -> DwarfReader | None:
        """The supplementary file's reader; None without a link, or when it is not found or
        damaged (names kept there stay unknown)."""
        from bot.symbols.dwarf_alt import alt_link

        link = alt_link(image)
        if link is None:
            return None
        if self._find_alt is None:
            from bot.symbols.locate import find_alt

            path = find_alt(link, self.debug_file)
        else:
            path = self._find_alt(link, self.debug_file)
        self.alt = (link, path)
        if path is None:
            return None
        from bot.symbols.dwarf_reader import DwarfReader
        from bot.symbols.elf_image import ElfImage
        from bot.symbols.sections import load_sections

        try:
            alt_image = ElfImage.open(path)
            try:
                return DwarfReader(load_sections(alt_image))
            finally:
                alt_image.close()
        except BadElf:
            self.alt = (link, None)
            return None

    def open_split(
        self, main: DwarfReader, unit: Unit, skeleton: Skeleton
    ) -> tuple[DwarfReader, Unit] | None:
        if self._split is None:
            from bot.symbols.split_dwarf import SplitUnits

            names = [self.debug_file.name]
            if self.debug_file.suffix == ".debug":
                names.append(self.debug_file.stem)
            packages = [d / f"{n}.dwp" for d in self.search_dirs for n in names]
            self._split = SplitUnits(main, search_dirs=self.search_dirs, packages=packages)
        opened: tuple[DwarfReader, Unit] | None = self._split.open(unit, skeleton)
        if opened is None:
            self.split_missing.add(unit.offset)
        return opened

    def record(self) -> dict[str, Any]:
        """What the index notes about the supplementary file it was built with."""
        if self.alt is None:
            return {}
        link, path = self.alt
        return {"alt": {"name": link.name, "build_id": link.identity, "path": path and str(path)}}
