"""Symbolized frames read back from a stored decoded report (report_json's shape), laid over a
report decoded again from the stored outputs: the binary that symbolized them stays with the
replica that ran the diagnosis. Never raises on odd JSON: what cannot be read is left out."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from bot.domain.conclude import reconclude
from bot.domain.crash import Crash
from bot.domain.evidence import Frame
from bot.domain.report import DecodedReport

CrashKey = tuple[int | None, str | None]  # (pid, signal): the same crash in both reports


def stored_frames(text: str) -> dict[CrashKey, tuple[Frame, ...]]:
    """Each stored crash's frames by its (pid, signal); {} for anything unreadable."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    crashes = data.get("crashes") if isinstance(data, dict) else None
    found: dict[CrashKey, tuple[Frame, ...]] = {}
    for crash in crashes if isinstance(crashes, list) else ():
        if not isinstance(crash, dict) or not isinstance(crash.get("frames"), list):
            continue
        key = (_int(crash.get("pid")), _str(crash.get("signal")))
        frames = tuple(f for f in (_frame(raw) for raw in crash["frames"]) if f is not None)
        if frames:
            found.setdefault(key, frames)
    return found


def with_stored_frames(report: DecodedReport, stored: str) -> DecodedReport:
    """`report` with each crash's frames taken from the stored report when those name more
    functions (symbolized), conclusions drawn again from them."""
    frames = stored_frames(stored)
    changed = False
    crashes: list[Crash] = []
    for crash in report.crashes:
        kept = frames.get((crash.pid, crash.signal))
        if kept is not None and _named(kept) >= _named(crash.frames):
            handlers = {(f.thread, f.index) for f in crash.frames if f.signal_handler}
            crash = replace(crash, frames=tuple(
                replace(f, signal_handler=True) if (f.thread, f.index) in handlers else f
                for f in kept))
            changed = True
        crashes.append(crash)
    return reconclude(replace(report, crashes=tuple(crashes))) if changed else report


def _named(frames: tuple[Frame, ...]) -> int:
    return sum(1 for f in frames if f.function and f.file)


def _frame(raw: Any) -> Frame | None:
    if not isinstance(raw, dict) or _int(raw.get("index")) is None:
        return None
    return Frame(index=_int(raw.get("index")) or 0, address=_hex(raw.get("address")),
                 function=_str(raw.get("function")),
                 function_offset=_hex(raw.get("function_offset")),
                 module=_str(raw.get("module")), module_offset=_hex(raw.get("module_offset")),
                 build_id=_str(raw.get("build_id")), file=_str(raw.get("file")),
                 line=_int(raw.get("line")), thread=_int(raw.get("thread")),
                 inlined=raw.get("inlined") is True)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _hex(value: Any) -> int | None:
    if isinstance(value, str) and value.lower().startswith("0x"):
        try:
            return int(value, 16)
        except ValueError:
            return None
    return _int(value)
