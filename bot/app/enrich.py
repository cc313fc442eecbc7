"""Fill function, file:line and inline chains into a decoded report's frames, by build-id.

Caller frames hold return addresses, so they are looked up at address - 1; a frame right after
`<signal handler called>` is where the signal interrupted, so it is looked up as is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from bot.app.ports.symbols import DebugInfoFetcher
from bot.app.symbolize import symbolize_offsets
from bot.domain.conclude import reconclude
from bot.domain.crash import Crash
from bot.domain.evidence import Frame
from bot.domain.report import DecodedReport
from bot.errors import BadElf, SymbolError
from bot.symbols.model import SymbolizedOffset


@dataclass(frozen=True)
class SymbolSources:
    paths: Sequence[Path] = ()
    fetcher: DebugInfoFetcher | None = None
    cache_dir: Path | None = None


def symbolize_report(
    report: DecodedReport, sources: SymbolSources
) -> tuple[DecodedReport, list[str]]:
    """The report with symbolized frames, and one line per module that could not be done."""
    plans = [_plan(c) for c in report.crashes]
    # One lookup per module for every crash: a crash loop's kernel log names the same binary
    # dozens of times, and each lookup finds and opens the module's symbols anew.
    batches: dict[_Group, list[tuple[int, int]]] = {}
    for number, (_, groups) in enumerate(plans):
        for group, positions in groups.items():
            batches.setdefault(group, []).extend((number, p) for p in positions)
    binaries = {module: _binary_for(module, sources.paths) for module, _, _ in batches}
    found: dict[tuple[int, int], SymbolizedOffset] = {}
    failed: dict[tuple[int, _Group], str] = {}
    for group, members in batches.items():
        binary = binaries[group[0]]
        try:
            found.update(_lookup(group, members, plans, binary, sources))
            continue
        except BadElf:
            pass  # damaged DWARF fails one unit: retried crash by crash, so it stays theirs
        except SymbolError as error:  # nothing found for the module: the same for every crash
            failed.update(((n, group), f"{group[0]}: {error}") for n, _ in members)
            continue
        for number in dict.fromkeys(n for n, _ in members):
            try:
                found.update(_lookup(group, [m for m in members if m[0] == number], plans,
                                     binary, sources))
            except SymbolError as error:
                failed[number, group] = f"{group[0]}: {error}"
    problems = [failed[n, g] for n, (_, groups) in enumerate(plans) for g in groups
                if (n, g) in failed]
    crashes = tuple(_expanded(crash, frames, number, found)
                    for number, (crash, (frames, _)) in enumerate(
                        zip(report.crashes, plans, strict=True)))
    return reconclude(replace(report, crashes=crashes)), problems


_Group = tuple[str | None, str | None, bool]  # module, build-id, offsets are file offsets


def _lookup(group: _Group, members: list[tuple[int, int]],
            plans: list[tuple[list[Frame], dict[_Group, list[int]]]], binary: Path | None,
            sources: SymbolSources) -> dict[tuple[int, int], SymbolizedOffset]:
    """Symbolize the frames `members` (crash number, frame position) name in one call."""
    _, build_id, from_file_offset = group
    if build_id is None and binary is None:
        return {}
    result = symbolize_offsets(
        build_id=build_id if binary is None else None,
        binary=binary,
        offsets=[plans[n][0][p].module_offset or 0 for n, p in members],
        return_addresses=[_is_return_address(plans[n][0], p) for n, p in members],
        symbol_paths=sources.paths,
        fetcher=sources.fetcher,
        cache_dir=sources.cache_dir,
        file_offsets=from_file_offset,
    )
    return dict(zip(members, result.results, strict=True))


def _plan(crash: Crash) -> tuple[list[Frame], dict[_Group, list[int]]]:
    """The crash's frames (a bare kernel line's site as one) and which of them to look up."""
    frames = list(crash.frames)
    # A bare kernel line: the 6.x kernel's file offset goes through the program headers.
    from_file_offset = not frames and crash.file_offset is not None
    if not frames and crash.module and (crash.file_offset or crash.module_offset) is not None:
        frames = [
            Frame(
                index=0,
                address=crash.ip,
                module=crash.module,
                module_offset=crash.file_offset if from_file_offset else crash.module_offset,
                build_id=crash.build_id,
            )
        ]
    groups: dict[_Group, list[int]] = {}
    for position, frame in enumerate(frames):
        if frame.module_offset is None or frame.module is None or (frame.function and frame.file):
            continue
        build_id = frame.build_id or (crash.build_id if _is_main(crash, frame) else None)
        groups.setdefault((frame.module, build_id, from_file_offset), []).append(position)
    return frames, groups


def _expanded(crash: Crash, frames: list[Frame], number: int,
              found: dict[tuple[int, int], SymbolizedOffset]) -> Crash:
    expanded: list[Frame] = []
    for position, frame in enumerate(frames):
        result = found.get((number, position))
        expanded.extend(_expand(frame, result) if result is not None else [frame])
    return replace(crash, frames=tuple(expanded))


def _expand(frame: Frame, result: SymbolizedOffset) -> list[Frame]:
    if not result.frames:
        return [frame]
    return [
        replace(
            frame,
            function=s.function,
            function_offset=s.function_offset,
            file=s.file,
            line=s.line,
            inlined=s.inlined,
        )
        for s in result.frames
    ]


def _is_main(crash: Crash, frame: Frame) -> bool:
    names = {crash.module, (crash.executable or "").rsplit("/", 1)[-1], crash.process}
    return frame.module in names


def _is_return_address(frames: list[Frame], position: int) -> bool:
    if position == 0 or frames[position].index == 0:
        return False
    previous = frames[position - 1]
    return not previous.signal_handler


def _binary_for(module: str | None, paths: Sequence[Path]) -> Path | None:
    """The given file for a module: same name, an evidence copy named `HOST-NAME`, or (the
    kernel cuts process names to 15 characters) a name the module begins."""
    if not module:
        return None
    files = [p for p in paths if p.is_file()]
    exact = next((p for p in files if p.name == module), None)
    copy = next((p for p in files if p.name.endswith(f"-{module}")), None)
    cut = next((p for p in files if len(module) == 15 and p.name.startswith(module)), None)
    return exact or copy or cut
