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
from bot.errors import SymbolError
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
    problems: list[str] = []
    crashes = tuple(_symbolize_crash(c, sources, problems) for c in report.crashes)
    return reconclude(replace(report, crashes=crashes)), problems


def _symbolize_crash(crash: Crash, sources: SymbolSources, problems: list[str]) -> Crash:
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
    groups: dict[tuple[str | None, str | None], list[int]] = {}
    for position, frame in enumerate(frames):
        if frame.module_offset is None or frame.module is None or (frame.function and frame.file):
            continue
        build_id = frame.build_id or (crash.build_id if _is_main(crash, frame) else None)
        groups.setdefault((frame.module, build_id), []).append(position)
    found: dict[int, SymbolizedOffset] = {}
    for (module, build_id), positions in groups.items():
        binary = _binary_for(module, sources.paths)
        if build_id is None and binary is None:
            continue
        offsets = [frames[p].module_offset or 0 for p in positions]
        returns = [_is_return_address(frames, p) for p in positions]
        try:
            result = symbolize_offsets(
                build_id=build_id if binary is None else None,
                binary=binary,
                offsets=offsets,
                return_addresses=returns,
                symbol_paths=sources.paths,
                fetcher=sources.fetcher,
                cache_dir=sources.cache_dir,
                file_offsets=from_file_offset,
            )
        except SymbolError as error:
            problems.append(f"{module}: {error}")
            continue
        found.update(zip(positions, result.results, strict=True))
    expanded: list[Frame] = []
    for position, frame in enumerate(frames):
        expanded.extend(_expand(frame, found[position]) if position in found else [frame])
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
