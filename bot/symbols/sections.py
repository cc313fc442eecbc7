"""Load the DWARF sections symbolization reads from an ELF file, inflated (ElfImage handles
zlib/zstd SHF_COMPRESSED and `.zdebug_*`); other debug sections are never loaded."""

from __future__ import annotations

from dataclasses import dataclass

from bot.symbols.elf_image import ElfImage

_NAMES = {  # .debug_info last: it may be inflating on another thread meanwhile
    "abbrev": "debug_abbrev",
    "line": "debug_line",
    "str": "debug_str",
    "line_str": "debug_line_str",
    "addr": "debug_addr",
    "str_offsets": "debug_str_offsets",
    "ranges": "debug_ranges",
    "rnglists": "debug_rnglists",
    "aranges": "debug_aranges",
    "info": "debug_info",
}


@dataclass(eq=False, repr=False)
class Sections:
    """The DWARF sections of one file, inflated; empty when absent."""

    info: bytes = b""
    abbrev: bytes = b""
    line: bytes = b""
    str: bytes = b""
    line_str: bytes = b""
    addr: bytes = b""
    str_offsets: bytes = b""
    ranges: bytes = b""
    rnglists: bytes = b""
    aranges: bytes = b""


def load_sections(image: ElfImage) -> Sections:
    found: dict[str, bytes] = {}
    for field, name in _NAMES.items():
        data = image.debug_section("." + name)
        if data is not None:
            found[field] = data
    return Sections(**found)
