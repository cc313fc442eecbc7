"""The symbolize use case: module offsets to function, file:line and inline chain, with the debug
file found locally or through a DebugInfoFetcher (the debuginfod port), never by network here."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from bot.app.ports.symbols import Artifact, DebugInfoFetcher
from bot.errors import DebugInfoNotFound, SymbolError, UsageError
from bot.symbols.elf_file import ElfSummary, read_elf
from bot.symbols.index_store import index_key
from bot.symbols.locate import SYSTEM_DEBUG_DIRS, find_local
from bot.symbols.model import SymbolizedModule, SymbolizedOffset
from bot.symbols.symbolizer import ModuleSymbolizer

if TYPE_CHECKING:
    from bot.symbols.dwarf_alt import AltLink

def symbolize_offsets(
    *,
    build_id: str | None,
    binary: Path | None,
    offsets: Sequence[int],
    return_addresses: Sequence[bool] = (),
    symbol_paths: Sequence[Path] = (),
    fetcher: DebugInfoFetcher | None = None,
    cache_dir: Path | None = None,
    system_debug_dirs: Sequence[Path] = SYSTEM_DEBUG_DIRS,
    file_offsets: bool = False,
) -> SymbolizedModule:
    """Symbolize module offsets (relative to the module's load base, as in `lib.so+0x1234`).

    With file_offsets, the offsets are positions in the file (the kernel's `[file_offset,...]`)
    and are turned into module offsets through the program headers of the binary (else of the
    debug file); results still carry the offsets as given.

    return_addresses[i] true looks up offsets[i] - 1 (caller frames hold return addresses);
    missing entries count as false. Raises DebugInfoNotFound when nothing at all describes the
    module, BadElf for an unreadable file, UsageError when neither build_id nor binary is given.
    """
    if build_id is None and binary is None:
        raise UsageError("give a binary or a build-id")
    summary: ElfSummary | None = _read_elf(binary) if binary is not None else None
    wanted = (build_id or (summary.build_id if summary else None) or "").lower() or None
    if summary is not None and build_id and summary.build_id and summary.build_id != wanted:
        raise UsageError(f"{binary} has build-id {summary.build_id}, not {build_id}")
    source, origin = _find(wanted, summary, symbol_paths, fetcher, system_debug_dirs)
    layout = summary if summary is not None and summary.loads else source

    def alt_file(link: AltLink, debug_file: Path) -> Path | None:
        return _find_alt(link, debug_file, symbol_paths, fetcher, system_debug_dirs)

    # .dwo/.dwp files: beside the binary asked about and in the debug directories given
    search = [binary.parent] if binary is not None else []
    search += [path if path.is_dir() else path.parent for path in symbol_paths]
    results = []
    with _symbolizer(source, cache_dir=cache_dir, find_alt=alt_file,
                     search=tuple(dict.fromkeys(search)),
                     remote=fetcher is not None) as symbolizer:
        if not file_offsets:
            symbolizer.prepare(offsets, return_addresses)
        for i, offset in enumerate(offsets):
            is_return = i < len(return_addresses) and return_addresses[i]
            wanted_offset: int | None = offset
            if file_offsets:
                wanted_offset = layout.module_offset_of_file_offset(offset)
            frames = (
                symbolizer.lookup(wanted_offset, return_address=is_return)
                if wanted_offset is not None
                else ()
            )
            results.append(SymbolizedOffset(offset, frames))
    module = str(binary) if binary is not None else None
    return SymbolizedModule(module, wanted, origin, tuple(results))


def _find(
    build_id: str | None,
    binary: ElfSummary | None,
    symbol_paths: Sequence[Path],
    fetcher: DebugInfoFetcher | None,
    system_dirs: Sequence[Path],
) -> tuple[ElfSummary, str]:
    local = find_local(
        build_id=build_id, binary=binary, symbol_paths=symbol_paths, system_dirs=system_dirs
    )
    if local.best is not None:
        return local.best, str(local.best.path)
    problems = list(local.skipped)
    if fetcher is not None and build_id:
        fallback_remote: tuple[ElfSummary, str] | None = None
        artifacts: tuple[Artifact, ...] = ("debuginfo", "executable")
        for artifact in artifacts:
            try:
                fetched = fetcher.fetch(build_id=build_id, artifact=artifact)
            except SymbolError as error:
                problems.append(str(error))
                break
            if fetched is None:
                continue
            summary = read_elf(fetched.path)
            if summary.build_id != build_id:
                problems.append(f"{fetched.url}: build-id {summary.build_id}, not {build_id}")
                continue
            if summary.has_dwarf:
                return summary, fetched.url
            if summary.has_symtab and fallback_remote is None:
                fallback_remote = (summary, fetched.url)
        if fallback_remote is not None and local.fallback is None:
            return fallback_remote
    if local.fallback is not None:
        return local.fallback, str(local.fallback.path)
    what = f"build-id {build_id}" if build_id else str(binary.path if binary else "module")
    detail = f" ({'; '.join(problems)})" if problems else ""
    raise DebugInfoNotFound(f"no symbols for {what}{detail}")


def _find_alt(
    link: AltLink,
    debug_file: Path,
    symbol_paths: Sequence[Path],
    fetcher: DebugInfoFetcher | None,
    system_dirs: Sequence[Path],
) -> Path | None:
    """A dwz supplementary file: on local disk, else from debuginfod by its build-id (a DWARF 5
    supplementary file has only a checksum, so it is found locally or not at all)."""
    from bot.symbols.locate import alt_matches, find_alt

    local = find_alt(link, debug_file, symbol_paths=symbol_paths, system_dirs=system_dirs)
    if local is not None or fetcher is None or link.sup:
        return local
    try:
        fetched = fetcher.fetch(build_id=link.identity, artifact="debuginfo")
    except SymbolError:
        return None
    if fetched is None or not alt_matches(fetched.path, link):
        return None
    return fetched.path


_CACHED = 32  # modules kept open: a fleet's hosts run a few builds, each crash loop one
_LOCK = threading.Lock()
_SUMMARIES: OrderedDict[tuple[object, ...], ElfSummary] = OrderedDict()
_SYMBOLIZERS: OrderedDict[tuple[object, ...], tuple[ModuleSymbolizer, threading.Lock]] = (
    OrderedDict())


def _read_elf(path: Path) -> ElfSummary:
    """An ELF file's headers, read once per version of the file (a crash loop names it often)."""
    stat = path.stat()
    key = (str(path), stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
    with _LOCK:
        found = _SUMMARIES.get(key)
    if found is None:
        found = read_elf(path)
        with _LOCK:
            _SUMMARIES[key] = found
            while len(_SUMMARIES) > _CACHED:
                _SUMMARIES.popitem(last=False)
    return found


@contextmanager
def _symbolizer(source: ElfSummary, *, cache_dir: Path | None,
                find_alt: Callable[[AltLink, Path], Path | None], search: tuple[Path, ...],
                remote: bool) -> Iterator[ModuleSymbolizer]:
    """The module's symbolizer, kept per build-id (its index stays loaded) and used by one
    thread at a time; a module without a build-id gets a fresh one."""
    key = (index_key(source), str(cache_dir), search, remote)
    entry = None
    if source.build_id:
        with _LOCK:
            entry = _SYMBOLIZERS.get(key)
            if entry is not None:
                _SYMBOLIZERS.move_to_end(key)
    if entry is not None and not entry[0].summary.path.exists():
        entry = None  # its file is gone: build again from the one found now
    if entry is None:
        entry = (ModuleSymbolizer(source, cache_dir=cache_dir, find_alt=find_alt,
                                  search_dirs=list(search)), threading.Lock())
    symbolizer, lock = entry
    with lock:
        try:
            yield symbolizer
        finally:
            symbolizer.close()  # writes the units indexed now; the file reopens on demand
    if source.build_id and not symbolizer.companions.alt_missing:
        with _LOCK:
            _SYMBOLIZERS[key] = entry
            while len(_SYMBOLIZERS) > _CACHED:
                _SYMBOLIZERS.popitem(last=False)
