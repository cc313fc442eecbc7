"""Demangling as c++filt prints it: C++ through __cxa_demangle, Rust legacy names with their
`$..$` escapes decoded, Rust v0 names (`_R...`) by bot.symbols.rust_v0."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_RUST_ESCAPES = {
    "$SP$": "@",
    "$BP$": "*",
    "$RF$": "&",
    "$LT$": "<",
    "$GT$": ">",
    "$LP$": "(",
    "$RP$": ")",
    "$C$": ",",
}


@lru_cache(maxsize=1)
def _demangler() -> Any:
    try:
        import cxxfilt
    except ImportError:  # pragma: no cover - a declared dependency
        return None
    return cxxfilt


def demangle(name: str) -> str:
    """Return `name` demangled, or unchanged when it is not a mangled C++/Rust name."""
    if name.startswith("_ZN") and _looks_rust_legacy(name):
        rust = _rust_legacy(name)
        if rust is not None:
            return rust
    if name.startswith("_R"):
        from bot.symbols.rust_v0 import demangle_v0

        return demangle_v0(name) or name
    if not name.startswith("_Z"):
        return name
    module = _demangler()
    if module is None:
        return name
    try:
        return str(module.demangle(name))
    except Exception:  # cxxfilt.InvalidName and friends: show the raw name, as c++filt does
        return name


def _looks_rust_legacy(name: str) -> bool:
    return re.search(r"17h[0-9a-f]{16}E$", name) is not None


def _rust_legacy(name: str) -> str | None:
    pos = 3
    parts: list[str] = []
    while pos < len(name) and name[pos] != "E":
        match = re.match(r"\d+", name[pos:])
        if match is None:
            return None
        length = int(match.group())
        pos += len(match.group())
        part = name[pos : pos + length]
        if len(part) != length:
            return None
        pos += length
        parts.append(_rust_part(part))
    return "::".join(parts)  # c++filt keeps the ::h<hash> part; so do we


def _rust_part(part: str) -> str:
    if part.startswith("_$"):
        part = part[1:]
    out = part.replace("..", "::")
    for code, char in _RUST_ESCAPES.items():
        out = out.replace(code, char)
    return re.sub(r"\$u([0-9a-f]+)\$", lambda m: chr(int(m.group(1), 16)), out)
