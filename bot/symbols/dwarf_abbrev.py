"""DWARF abbreviation tables, parsed lazily: a unit's DIEs use few of its codes, and the
compile unit's own code usually comes early, so entries are read only up to the code asked for."""

from __future__ import annotations

from dataclasses import dataclass

from bot.symbols.dwarf_forms import AT_SIBLING, FORM_IMPLICIT_CONST, FORM_REF4
from bot.symbols.leb128 import sleb, uleb


@dataclass
class Abbrev:
    tag: int
    has_children: bool
    attrs: tuple[tuple[int, int, int], ...]  # (attribute, form, implicit const)
    fixed_size: int = -1  # bytes of attribute data when every form has a fixed size, else -1
    sibling_at: int = -1  # where a ref4 DW_AT_sibling sits in that data, else -1


class AbbrevTable(dict[int, Abbrev]):
    """code -> Abbrev; a missing code makes the table read on until it is found."""

    def __init__(self, data: bytes, offset: int, sizes: dict[int, int]) -> None:
        super().__init__()
        self._data = data
        self._pos = offset
        self._sizes = sizes  # form -> size in this unit's format, for fixed-size forms
        self._done = False

    def __missing__(self, code: int) -> Abbrev:
        while not self._done:
            if self._read_one() == code:
                return self[code]
        raise KeyError(f"abbreviation code {code} not in its table")

    def _read_one(self) -> int:
        data, pos = self._data, self._pos
        if pos >= len(data):
            self._done = True
            return 0
        code, pos = uleb(data, pos)
        if code == 0:
            self._done = True
            return 0
        tag, pos = uleb(data, pos)
        has_children = data[pos] == 1
        pos += 1
        attrs = []
        while True:
            attr = data[pos]  # one byte for most attributes and forms: no call for those
            if attr < 0x80:
                pos += 1
            else:
                attr, pos = uleb(data, pos)
            form = data[pos]
            if form < 0x80:
                pos += 1
            else:
                form, pos = uleb(data, pos)
            if attr == 0 and form == 0:
                break
            implicit = 0
            if form == FORM_IMPLICIT_CONST:
                implicit, pos = sleb(data, pos)
            attrs.append((attr, form, implicit))
        self._pos = pos
        abbrev = Abbrev(tag, has_children, tuple(attrs))
        fixed = 0
        for attr, form, _ in attrs:
            if form not in self._sizes:
                fixed = -1
                abbrev.sibling_at = -1
                break
            if attr == AT_SIBLING and form == FORM_REF4:
                abbrev.sibling_at = fixed
            fixed += self._sizes[form]
        abbrev.fixed_size = fixed
        self[code] = abbrev
        return code
