"""dwz supplementary ("alt") files: the link to the file shared DIEs and strings moved to
(`.gnu_debugaltlink` or DWARF 5 `.debug_sup`), and the identity a candidate must show."""

from __future__ import annotations

from dataclasses import dataclass

from bot.symbols.elf_image import ElfImage
from bot.symbols.leb128 import uleb

FORM_GNU_REF_ALT, FORM_GNU_STRP_ALT = 0x1F20, 0x1F21
FORM_REF_SUP4, FORM_STRP_SUP, FORM_REF_SUP8 = 0x1C, 0x1D, 0x24
ALT_REF_FORMS = frozenset({FORM_GNU_REF_ALT, FORM_REF_SUP4, FORM_REF_SUP8})
ALT_STR_FORMS = frozenset({FORM_GNU_STRP_ALT, FORM_STRP_SUP})


@dataclass(frozen=True, eq=False, repr=False)
class AltLink:
    """Where a dwz-processed file's supplementary (alt) file is and how to recognise it."""

    name: str  # as written: absolute, or relative to the debug file's directory
    identity: str  # hex: the alt file's build-id (GNU) or its .debug_sup checksum (DWARF 5)
    sup: bool  # a DWARF 5 .debug_sup link (the alt file may have no build-id note)


def alt_link(image: ElfImage) -> AltLink | None:
    raw = image.section(".gnu_debugaltlink")
    if raw is not None:
        end = raw.find(b"\0")
        if end > 0:
            return AltLink(raw[:end].decode("utf-8", "replace"), raw[end + 1 :].hex(), False)
    sup = _debug_sup(image)
    if sup is not None and not sup[0] and sup[1]:
        return AltLink(sup[1], sup[2], True)
    return None


def sup_checksum(image: ElfImage) -> str | None:
    """The checksum a supplementary file's own .debug_sup declares (is_supplementary set)."""
    sup = _debug_sup(image)
    return sup[2] if sup is not None and sup[0] else None


def _debug_sup(image: ElfImage) -> tuple[bool, str, str] | None:
    """(is_supplementary, file name, checksum hex) from .debug_sup; None if absent or odd."""
    raw = image.section(".debug_sup")
    if raw is None or len(raw) < 5:
        return None
    is_supplementary = bool(raw[2])
    end = raw.find(b"\0", 3)
    if end < 0:
        return None
    name = raw[3:end].decode("utf-8", "replace")
    try:
        size, pos = uleb(raw, end + 1)
    except IndexError:
        return None
    return is_supplementary, name, raw[pos : pos + size].hex()
