"""segbot's own symbol answers in the oracles' shape (inline chains of (function, file, line),
innermost first), and the frame-by-frame comparison with addr2line and llvm-symbolizer."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bot.adapters.debuginfod import DebuginfodClient
from bot.app.symbolize import symbolize_offsets
from bot.symbols.elf_file import read_elf
from bot.symbols.model import SymbolizedModule, SymbolizedOffset
from bot.symbols.symbolizer import ModuleSymbolizer
from tests.symbols.oracles import Chain


def chains(results: Sequence[SymbolizedOffset]) -> list[Chain]:
    return [[(f.function, f.file, f.line) for f in r.frames] for r in results]


def symbolizer_chains(
    path: Path, addresses: list[int], cache: Path, *, returns: bool = False
) -> list[Chain]:
    """ModuleSymbolizer on one file; with returns, each address is a return address."""
    with ModuleSymbolizer(read_elf(path), cache_dir=cache) as symbolizer:
        return [
            [(f.function, f.file, f.line) for f in symbolizer.lookup(a, return_address=returns)]
            for a in addresses
        ]


def by_build_id(
    build_id: str,
    offsets: list[int],
    cache: Path,
    *,
    server: str | None = None,
    symbol_paths: Sequence[Path] = (),
) -> SymbolizedModule:
    """The use case given a build-id and no binary: debug files from `symbol_paths` or a
    debuginfod `server`, never from this machine's own debug directories."""
    return symbolize_offsets(
        build_id=build_id,
        binary=None,
        offsets=offsets,
        symbol_paths=symbol_paths,
        fetcher=DebuginfodClient([server], cache_dir=cache) if server else None,
        cache_dir=cache,
        system_debug_dirs=(),
    )


def disagreements(
    addresses: list[int], ours: list[Chain], binutils: list[Chain], llvm: list[Chain] | None
) -> list[str]:
    """One line per address where our chain matches neither oracle, frame by frame."""
    bad = []
    for i, address in enumerate(addresses):
        mine, theirs = ours[i], binutils[i]
        other = llvm[i] if llvm is not None else theirs
        if mine in (theirs, other):
            continue  # (alignment padding after a function: addr2line names the symbol before)
        if len(mine) != len(theirs) or len(mine) != len(other):
            bad.append(f"{address:#x}: ours {mine} addr2line {theirs} llvm {other}")
            continue
        for frame, a2l, llv in zip(mine, theirs, other, strict=True):
            # binutils 2.40 sometimes names the caller for an inlined frame mid-instruction
            name_ok = frame[0] in (a2l[0], llv[0])
            place_ok = frame[1:] in (a2l[1:], llv[1:])
            if not (name_ok and place_ok):
                bad.append(f"{address:#x}: ours {frame} addr2line {a2l} llvm {llv}")
    return bad


def assert_agree(
    addresses: list[int], ours: list[Chain], binutils: list[Chain], llvm: list[Chain] | None
) -> None:
    bad = disagreements(addresses, ours, binutils, llvm)
    assert bad == [], f"{len(bad)} of {len(addresses)} differ:\n" + "\n".join(bad[:20])
