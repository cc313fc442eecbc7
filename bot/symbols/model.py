"""Values symbolization produces: one frame of an inline chain, the frames for one offset, and a
module's results. Frozen and plain so the app layer and the decoder can hold them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SymbolFrame:
    """One frame of the inline chain at an offset; `inlined` is true for every frame but the
    last (the function whose machine code holds the offset)."""

    function: str | None
    function_offset: int | None = None
    file: str | None = None
    line: int | None = None
    column: int | None = None
    inlined: bool = False
    source: str | None = None  # what named the function: dwarf, .symtab, .dynsym, .gnu_debugdata


@dataclass(frozen=True)
class SymbolizedOffset:
    """One offset asked about and its frames."""

    offset: int
    frames: tuple[SymbolFrame, ...]  # innermost first, as `addr2line -i` prints them


@dataclass(frozen=True)
class SymbolizedModule:
    """The answers for one module's offsets, and where its debug file came from."""

    module: str | None
    build_id: str | None
    debug_file: str | None  # a path, or the debuginfod URL it came from
    results: tuple[SymbolizedOffset, ...]


def _hex(value: int | None) -> str | None:
    return None if value is None else hex(value)


def module_to_dict(module: SymbolizedModule) -> dict[str, object]:
    """The shape of the symbolized JSON (tests/schemas/symbolized.schema.json)."""
    return {
        "module": module.module,
        "build_id": module.build_id,
        "debug_file": module.debug_file,
        "results": [
            {
                "offset": hex(result.offset),
                "frames": [
                    {
                        "function": frame.function,
                        "function_offset": _hex(frame.function_offset),
                        "file": frame.file,
                        "line": frame.line,
                        "column": frame.column,
                        "inlined": frame.inlined,
                        "name_source": frame.source,
                    }
                    for frame in result.frames
                ],
            }
            for result in module.results
        ],
    }


def describe_offset(result: SymbolizedOffset) -> str:
    """One readable line: innermost frame first, each outer one 'inlined into' the next."""
    if not result.frames:
        return f"{result.offset:#x}: ??"
    parts = []
    for frame in result.frames:
        name = frame.function or "??"
        if frame.function_offset is not None:
            name += f"+{frame.function_offset:#x}"
        if frame.source == ".gnu_debugdata":
            name += " (MiniDebugInfo)"  # a stripped binary's own symbols, no debug file
        if frame.file is None:
            parts.append(name)
            continue
        where = frame.file
        if frame.line is not None:
            where += f":{frame.line}"
            if frame.column is not None:
                where += f":{frame.column}"
        parts.append(f"{name} at {where}")
    return f"{result.offset:#x}: " + ", inlined into ".join(parts)
