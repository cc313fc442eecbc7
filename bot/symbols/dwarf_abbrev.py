"""DWARF abbreviation tables, parsed lazily and shared across units, each entry with what
skipping and decoding its DIEs need (fixed sizes, DW_AT_sibling's place, a decoding plan)."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from bot.symbols.dwarf_forms import (
    AT_HIGH_PC,
    AT_LOW_PC,
    AT_RANGES,
    AT_SIBLING,
    FORM_IMPLICIT_CONST,
    FORM_REF4,
)
from bot.symbols.leb128 import sleb, uleb

_STRUCT_CODES = {1: "B", 2: "H", 4: "I", 8: "Q"}
_CODE_TAGS = frozenset({0x2E, 0x1D})  # subprogram, inlined subroutine: has_code is for them
_STRUCTS: dict[str, struct.Struct] = {}  # few formats recur across a file's abbreviations
Step = tuple[struct.Struct | None, Any, Any]  # (run, attributes, forms) or (None, attr, form)
# what a walk over children does with a DIE: (kind, size), size being the bytes to jump (JUMP)
# or the offset of DW_AT_sibling (SIBLING), both counted from after the abbreviation code;
# ENTER: a container whose children are walked, its attributes not read
DECODE, JUMP, SIBLING, SKIP, ENTER = 0, 1, 2, 3, 4
Action = tuple[int, int]


@dataclass(eq=False, repr=False)
class Abbrev:
    """One abbreviation: a DIE's tag and attribute forms, and how to skip or decode it."""

    tag: int
    has_children: bool
    attrs: tuple[tuple[int, int, int], ...]  # (attribute, form, implicit const)
    fixed_size: int = -1  # bytes of attribute data when every form has a fixed size, else -1
    sibling_at: int = -1  # offset of a ref4 DW_AT_sibling when every form before is fixed
    sibling_back: int = -1  # its distance from the end when every form after is fixed
    has_code: bool = False  # a subprogram or inlined call with low/high pc or ranges
    steps: tuple[Step, ...] | None = None  # the decoding plan, made on first decode
    consts: tuple[tuple[int, tuple[int, Any]], ...] = field(default=())  # zero-size values


def plan(abbrev: Abbrev, sizes: dict[int, int]) -> tuple[Step, ...]:
    """Steps decoding a DIE: fixed-size runs as one struct each, other forms one by one."""
    steps: list[Step] = []
    consts = []

    fmt = "<"
    keys: list[int] = []
    forms: list[int] = []
    for attr, form, implicit in abbrev.attrs:
        size = sizes.get(form)
        if size == 0:
            consts.append((attr, (form, implicit if form == FORM_IMPLICIT_CONST else 1)))
        elif size in _STRUCT_CODES:
            fmt += _STRUCT_CODES[size]
            keys.append(attr)
            forms.append(form)
        else:
            if keys:
                steps.append((_struct(fmt), tuple(keys), tuple(forms)))
                fmt, keys, forms = "<", [], []
            steps.append((None, attr, form))
    if keys:
        steps.append((_struct(fmt), tuple(keys), tuple(forms)))
    abbrev.consts = tuple(consts)
    abbrev.steps = tuple(steps)
    return abbrev.steps


def _struct(fmt: str) -> struct.Struct:
    found = _STRUCTS.get(fmt)
    if found is None:
        found = _STRUCTS[fmt] = struct.Struct(fmt)
    return found


class AbbrevTable(dict[int, Abbrev]):
    """code -> Abbrev; a missing code makes the table read on until it is found."""

    def __init__(
        self, data: bytes, offset: int, sizes: dict[int, int], shared: dict[bytes, Abbrev]
    ) -> None:
        super().__init__()
        self._data = data
        self._pos = offset
        self.sizes = sizes  # form -> size in this unit's format, for fixed-size forms
        # entries by their bytes after the code, for the tables of units of this format: units
        # repeat most entries, so each is parsed (and planned) once
        self._shared = shared
        self._done = False
        self._actions: dict[tuple[frozenset[int], frozenset[int]], dict[int, Action]] = {}

    def actions(self, wanted: frozenset[int], code_only: frozenset[int]) -> dict[int, Action]:
        """code -> Action for a walk that decodes the tags in code_only with address attributes
        and enters the others in wanted that have children; filled by action() as met."""
        key = (wanted, code_only)
        found = self._actions.get(key)
        if found is None:
            found = self._actions[key] = {}
        return found

    def action(self, code: int, wanted: frozenset[int], code_only: frozenset[int]) -> Action:
        abbrev = self[code]
        tag = abbrev.tag
        if tag in code_only and abbrev.has_code and tag in wanted:
            found = (DECODE, 0)
        elif tag in wanted and tag not in code_only and abbrev.has_children:
            found = (ENTER, 0)
        elif not abbrev.has_children and abbrev.fixed_size >= 0:
            found = (JUMP, abbrev.fixed_size)
        elif abbrev.has_children and abbrev.sibling_at >= 0:
            found = (SIBLING, abbrev.sibling_at)
        else:
            found = (SKIP, 0)
        self.actions(wanted, code_only)[code] = found
        return found

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
        code = data[pos]
        if code == 0:
            self._done = True
            return 0
        pos += 1
        if code >= 0x80:
            code, pos = uleb(data, pos - 1)
        # An entry ends at the first 0 0 its parse reaches, and no earlier 0 0 can fake the
        # end of an entry already parsed: the bytes up to the first 0 0 name it when known.
        key = data[pos : data.find(b"\0\0", pos + 2) + 2]
        known = self._shared.get(key)
        if known is not None:
            self[code] = known
            self._pos = pos + len(key)
            return code
        start = pos
        tag = data[pos]
        pos += 1
        if tag >= 0x80:
            tag, pos = uleb(data, pos - 1)
        has_children = data[pos] == 1
        pos += 1
        attrs: list[tuple[int, int, int]] = []
        sizes = self.sizes
        fixed = 0  # attribute bytes so far, -1 once a form of varying size was seen
        sibling_at = since_sibling = -1
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
            if attr == AT_SIBLING and form == FORM_REF4:
                if fixed >= 0:
                    sibling_at = fixed
                since_sibling = 0
            size = sizes.get(form)
            if size is None:
                fixed = since_sibling = -1
            else:
                if fixed >= 0:
                    fixed += size
                if since_sibling >= 0:
                    since_sibling += size
        self._pos = pos
        has_code = False
        if tag in _CODE_TAGS:
            names = {attr for attr, _, _ in attrs}
            has_code = AT_RANGES in names or (AT_LOW_PC in names and AT_HIGH_PC in names)
        abbrev = self[code] = Abbrev(
            tag,
            has_children,
            tuple(attrs),
            fixed_size=fixed,
            sibling_at=sibling_at,
            sibling_back=since_sibling,
            has_code=has_code,
        )
        if pos - start == len(key):
            self._shared[key] = abbrev
        return code
