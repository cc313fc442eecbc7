"""Load the DWARF sections symbolization reads from an ELF file (pyelftools finds them and
inflates SHF_COMPRESSED ones; old-style `.zdebug_*` is inflated here). `.debug_loclists`,
`.debug_types` and the like are never loaded."""

from __future__ import annotations

import zlib
from typing import Any

from bot.symbols.dwarf_reader import Sections

_NAMES = {
    "info": "debug_info",
    "abbrev": "debug_abbrev",
    "line": "debug_line",
    "str": "debug_str",
    "line_str": "debug_line_str",
    "addr": "debug_addr",
    "str_offsets": "debug_str_offsets",
    "ranges": "debug_ranges",
    "rnglists": "debug_rnglists",
    "aranges": "debug_aranges",
}


def load_sections(elf: Any) -> Sections:
    found: dict[str, bytes] = {}
    for field, name in _NAMES.items():
        section = elf.get_section_by_name("." + name)
        if section is not None and section["sh_type"] != "SHT_NOBITS":
            found[field] = bytes(section.data())
            continue
        section = elf.get_section_by_name(".z" + name)
        if section is not None and section["sh_type"] != "SHT_NOBITS":
            raw = bytes(section.data())
            found[field] = zlib.decompress(raw[12:]) if raw.startswith(b"ZLIB") else raw
    return Sections(**found)
