"""The on-disk index, one directory per build-id: `module` (unit map, symbol table) and `pack-*`
(the units one run indexed); written atomically, read with marshal."""

from __future__ import annotations

import marshal
import os
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.symbols.elf_file import ElfSummary
from bot.symbols.index_model import Coverage, CuIndex, CuMap, Symbols
from bot.symbols.line_program import LineRows

FORMAT = 7


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "segbot"


def index_key(summary: ElfSummary) -> str:
    """The index directory's name: the build-id, marked when the file has no DWARF (so that a
    debug file found later gets an index of its own instead of the symbol-table-only one)."""
    if summary.build_id:
        if summary.has_dwarf:
            return summary.build_id
        for section, mark in ((".symtab", "-symtab"), (".gnu_debugdata", "-minidebuginfo")):
            if section in summary.sections:
                return summary.build_id + mark
        return summary.build_id + "-dynsym"
    import hashlib

    stat = summary.path.stat()
    raw = f"{summary.path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()
    return "path-" + hashlib.sha256(raw).hexdigest()[:32]


def _arr(code: str, data: bytes) -> array:  # type: ignore[type-arg]
    out = array(code)
    out.frombytes(data)
    return out


def _load(path: Path) -> Any:
    try:
        data = path.read_bytes()
        value = marshal.loads(data)
    except (OSError, EOFError, ValueError, TypeError):
        return None  # missing or damaged: rebuilt by the caller
    if not isinstance(value, dict) or value.get("format") != FORMAT:
        return None
    return value


def _save(path: Path, value: dict[str, Any]) -> None:
    value = {"format": FORMAT, **value}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("wb") as handle:
            handle.write(marshal.dumps(value))
        os.replace(tmp, path)  # readers see the old file or the whole new one
    except OSError:
        tmp.unlink(missing_ok=True)  # an unwritable cache costs speed, never an answer


def load_module(directory: Path) -> tuple[CuMap, Symbols, dict[str, Any]] | None:
    value = _load(directory / "module")
    if value is None:
        return None
    cu_map = CuMap(
        _arr("Q", value["cu_low"]), _arr("Q", value["cu_high"]), _arr("Q", value["cu_off"])
    )
    symbols = Symbols(
        _arr("Q", value["sym_addr"]),
        _arr("Q", value["sym_size"]),
        value["sym_name"],
        value["sym_file"],
        value["sym_origin"],
    )
    return cu_map, symbols, value["info"]


def save_module(directory: Path, cu_map: CuMap, symbols: Symbols, info: dict[str, Any]) -> None:
    _save(
        directory / "module",
        {
            "cu_low": cu_map.low.tobytes(),
            "cu_high": cu_map.high.tobytes(),
            "cu_off": cu_map.cu_offset.tobytes(),
            "sym_addr": symbols.address.tobytes(),
            "sym_size": symbols.size.tobytes(),
            "sym_name": symbols.names,
            "sym_file": symbols.files,
            "sym_origin": symbols.origin,
            "info": info,
        },
    )


def cu_from_value(value: dict[str, Any]) -> CuIndex:
    rows = LineRows(
        _arr("Q", value["row_addr"]),
        _arr("i", value["row_file"]),
        _arr("I", value["row_line"]),
        _arr("I", value["row_col"]),
    )
    scopes = value["scopes"]  # plain tuples in Scope's field order
    coverage = Coverage(
        value["lines_done"],
        _arr("Q", value["line_cover"]),
        value["scopes_done"],
        _arr("Q", value["built"]),
        _arr("Q", value["unbuilt"]),
        _arr("Q", value["wanted"]),
    )
    return CuIndex(
        value["files"],
        rows,
        _arr("Q", value["seg_start"]),
        _arr("i", value["seg_scope"]),
        scopes,
        coverage,
    )


def cu_to_value(index: CuIndex) -> dict[str, Any]:
    return {
        "files": index.files,
        "row_addr": index.rows.address.tobytes(),
        "row_file": index.rows.file.tobytes(),
        "row_line": index.rows.line.tobytes(),
        "row_col": index.rows.column.tobytes(),
        "seg_start": index.segment_start.tobytes(),
        "seg_scope": index.segment_scope.tobytes(),
        "scopes": [tuple(s) for s in index.scopes],
        "lines_done": index.coverage.lines_done,
        "line_cover": index.coverage.lines.tobytes(),
        "scopes_done": index.coverage.scopes_done,
        "built": index.coverage.built.tobytes(),
        "unbuilt": index.coverage.unbuilt.tobytes(),
        "wanted": index.coverage.wanted.tobytes(),
    }


def load_pack(directory: Path, name: str) -> dict[int, dict[str, Any]] | None:
    """A pack holds the compile units indexed by one run, written as one file."""
    value = _load(directory / name)
    return None if value is None else value.get("units")


def save_pack(directory: Path, name: str, units: dict[int, dict[str, Any]]) -> None:
    _save(directory / name, {"units": units})


def add_pack(
    directory: Path,
    pack_of: dict[int, str],
    new: dict[int, dict[str, Any]],
    load: Callable[[str], dict[int, Any] | None],
) -> set[str]:
    """Write new units as one pack (past 8 packs, merged with all of them), record it in pack_of;
    return the packs it replaces, to remove once the module file names the new one."""
    units: dict[int, Any] = {}
    replaced = set(pack_of.values())
    if len(replaced) >= 8:  # one file to read on warm runs, few files in the cache
        for old in replaced:
            units.update(load(old) or {})
    else:
        replaced = set()
    units.update(new)
    name = f"pack-{os.getpid()}-{os.urandom(4).hex()}"
    save_pack(directory, name, units)
    pack_of.update(dict.fromkeys(units, name))
    return replaced
