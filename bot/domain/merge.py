"""Join what several sources say about one crash (kernel line, coredumpctl, gdb, journal).

Evidence is about the same occurrence when it names the same pid (the kernel prints the
faulting thread's id; coredumpctl the process id and the crashing thread), or, for systemd's
pid-less "Main process exited" line, when it is within a few seconds of a crash of that unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any

from bot.domain.crash import Crash, crashing_frames, site_frame
from bot.domain.evidence import CrashEvidence, Frame, MemoryMapping
from bot.domain.instruction import disassemble
from bot.domain.pagefault import decode_error_code

_SAME_TIME = timedelta(seconds=5)
_SAME_PID_TIME = timedelta(minutes=10)
# Which source is believed first for each field.
_ORDER = {"kernel": 0, "coredump": 1, "gdb": 2, "systemd": 3, "journal": 4, "alert": 5}


def merge_crashes(
    evidence: Iterable[CrashEvidence], mappings: Sequence[MemoryMapping] = ()
) -> list[Crash]:
    return combine_groups(group_evidence(evidence), mappings)


def group_evidence(evidence: Iterable[CrashEvidence]) -> list[list[CrashEvidence]]:
    """The evidence of each crash occurrence together, its fields not merged yet."""
    items = sorted(evidence, key=lambda e: _ORDER[e.source])
    if len(items) == 1:  # an alert's one line: nothing to join
        return [items]
    groups: list[list[CrashEvidence]] = []
    pidless: list[CrashEvidence] = []
    # Only groups sharing an id with an item can be its crash (_same_pid): found by id, not by
    # a scan of every group (a crash loop's kernel log holds dozens).
    by_id: dict[int, list[int]] = {}
    for item in items:
        ids = _ids(item)
        if not ids:
            pidless.append(item)
            continue
        candidates = sorted({k for i in ids for k in by_id.get(i, ())})
        found = next((k for k in candidates if _same_pid(groups[k], item)), None)
        if found is None:
            found = len(groups)
            groups.append([item])
        else:
            groups[found].append(item)
        for i in ids:
            if found not in by_id.setdefault(i, []):
                by_id[i].append(found)
    groups = _join_by_ip(groups)
    for item in pidless:
        group = _nearest(groups, item)
        if group is None:
            groups.append([item])
        else:
            group.append(item)
    return groups


def combine_groups(
    groups: Iterable[list[CrashEvidence]], mappings: Sequence[MemoryMapping] = ()
) -> list[Crash]:
    """One crash per group of evidence, oldest first."""
    crashes = [_combine(group, mappings) for group in groups]
    return sorted(crashes, key=lambda c: (c.time is None, c.time or datetime.min, c.pid or 0))


def _site_ips(group: list[CrashEvidence]) -> set[int]:
    ips = {g.ip for g in group if g.ip is not None}
    ips |= {g.frames[0].address for g in group
            if g.frames and g.frames[0].index == 0 and g.frames[0].address is not None}
    return ips


def _join_by_ip(groups: list[list[CrashEvidence]]) -> list[list[CrashEvidence]]:
    """A service in a container: the kernel prints the machine's pid, coredumpctl and gdb the
    container's. The faulting ip (ASLR moves it with every exec) still names one crash."""
    joined: list[_Joined] = []
    by_ip: dict[int, list[int]] = {}  # ip -> the joined groups holding it, found without a scan
    for group in groups:
        this = _Joined(group, _site_ips(group), all(g.source == "kernel" for g in group),
                       any(g.source == "kernel" for g in group))
        candidates = sorted({k for ip in this.ips for k in by_ip.get(ip, ())})
        found = next((k for k in candidates
                      if this.kernel_only != joined[k].kernel_only
                      and not (this.kernel_only and joined[k].any_kernel)), None)
        if found is None:
            found = len(joined)
            joined.append(this)
        else:  # what the merged group says is the union of what each part says
            partner = joined[found]
            partner.items.extend(group)
            partner.ips |= this.ips
            partner.kernel_only = partner.kernel_only and this.kernel_only
            partner.any_kernel = partner.any_kernel or this.any_kernel
        for ip in this.ips:
            if found not in by_ip.setdefault(ip, []):
                by_ip[ip].append(found)
    return [j.items for j in joined]


@dataclass
class _Joined:
    """A group being joined, with its site ips and sources kept beside it."""

    items: list[CrashEvidence]
    ips: set[int]
    kernel_only: bool
    any_kernel: bool


def _ids(item: CrashEvidence) -> set[int]:
    return {i for i in (item.pid, item.crashing_thread) if i is not None}


def _same_pid(group: list[CrashEvidence], item: CrashEvidence) -> bool:
    if item.source == "kernel" and any(g.source == "kernel" for g in group):
        return False  # every kernel line is a crash of its own: PID 1 crashes again as PID 1
    ids = set().union(*(_ids(g) for g in group))
    if not ids & _ids(item):
        return False
    times = [g.time for g in group if g.time]
    return (
        item.time is None or not times or any(abs(t - item.time) <= _SAME_PID_TIME for t in times)
    )


def _nearest(groups: list[list[CrashEvidence]], item: CrashEvidence) -> list[CrashEvidence] | None:
    """The crash a pid-less line (systemd's "Main process exited") is about: the closest in
    time, within seconds, of the same unit and signal, that no line of its kind claimed yet
    (one exit line per crash: a loop of five crashes is five crashes)."""
    best: tuple[float, list[CrashEvidence]] | None = None
    for group in groups:
        if any(g.source == item.source for g in group):
            continue
        for other in group:
            if not _compatible(other, item):
                continue
            if item.time is None or other.time is None:
                same_unit = bool(other.unit and other.unit == item.unit)
                distance = 0.0 if item.time is None and (same_unit or _runs(item, other)) \
                    else None
            else:
                gap = abs(other.time - item.time)
                distance = gap.total_seconds() if gap <= _SAME_TIME else None
            if distance is not None and (best is None or distance < best[0]):
                best = (distance, group)
    return best[1] if best else None


def _runs(exit: CrashEvidence, crash: CrashEvidence) -> bool:
    """Whether the unit of a pid-less exit is the crashed program: `systemd-logind.service`
    and the kernel's `systemd-logind` (the comm, cut to 15 characters)."""
    if not exit.unit or not crash.process or crash.unit:
        return False
    stem = exit.unit.rsplit(".", 1)[0]
    return stem[:15] == crash.process[:15]


def _compatible(one: CrashEvidence, other: CrashEvidence) -> bool:
    unit_ok = not (one.unit and other.unit) or one.unit == other.unit
    signal_ok = not (one.signal and other.signal) or one.signal == other.signal
    return unit_ok and signal_ok


_FIELDS = (
    "signal",
    "signal_code",
    "time",
    "host",
    "process",
    "executable",
    "unit",
    "trap",
    "fault_address",
    "ip",
    "sp",
    "error_code",
    "module",
    "module_base",
    "module_size",
    "file_offset",
    "build_id",
    "code",
    "command_line",
    "corefile",
    "uptime_seconds",
)
_READ_FIELDS = attrgetter(*_FIELDS)


def _combine(group: list[CrashEvidence], mappings: Sequence[MemoryMapping]) -> Crash:
    kernel = next((g for g in group if g.source == "kernel"), None)
    # Each field from the first source (in _ORDER) that knows it.
    values: dict[str, Any] = dict(zip(_FIELDS, _READ_FIELDS(group[0]), strict=True))
    for item in group[1:]:
        for name, value in zip(_FIELDS, _READ_FIELDS(item), strict=True):
            if values[name] is None:
                values[name] = value
    # coredumpctl knows the process id; the kernel and gdb print the faulting thread's id.
    values["pid"] = next((g.pid for g in group if g.source == "coredump" and g.pid),
                         next((g.pid for g in group if g.pid is not None), None))
    values["crashing_thread"] = next((g.crashing_thread for g in group if g.crashing_thread),
                                     kernel.pid if kernel else None)
    frames = _best_frames(group)
    site = site_frame(crashing_frames(frames, values["crashing_thread"]))
    if kernel is None and site is not None and values["ip"] in {None, frames[0].address}:
        # Without a kernel line the crash's own ip is the faulting frame's (coredumpctl, gdb).
        values["ip"] = site.address
        values["module"] = values["module"] or site.module
    site_offset = site.module_offset if kernel is None and site is not None else None
    # Built once, with what the fields imply: alert intake merges every alert's evidence.
    derived = _derived(values, frames, mappings)
    if derived["module_offset"] is None and site_offset is not None:
        derived["module_offset"] = site_offset
    return Crash(sources=tuple(dict.fromkeys(g.source for g in group)), **derived)


def _best_frames(group: list[CrashEvidence]) -> tuple[Frame, ...]:
    """The richest stack: most frames with a function name, then most frames."""
    stacks = [g.frames for g in group if g.frames]
    if not stacks:
        return ()
    return max(stacks, key=lambda s: (sum(1 for f in s if f.function), len(s)))


def _derived(
    values: dict[str, Any], frames: tuple[Frame, ...], mappings: Sequence[MemoryMapping]
) -> dict[str, Any]:
    """The merged fields plus what follows from them: the page fault, the instruction, where
    the ip is in its module, and the frames placed in the mapped files."""
    error_code, code, ip = values["error_code"], values["code"], values["ip"]
    fault = (
        decode_error_code(error_code) if error_code is not None and values["trap"] is None
        else None
    )
    instruction = disassemble(code, fault_address=values["fault_address"]) if code else None
    module_offset = None
    base, size = values["module_base"], values["module_size"]
    if base is not None and size is not None and ip is not None and base <= ip < base + size:
        module_offset = ip - base
    module = values["module"]
    if module is None and ip is not None and (found := _mapped(ip, mappings)):
        module, base, module_offset = found.module, found.load_base, found.offset
    frames = tuple(_locate(frame, mappings) for frame in frames)
    if (
        frames
        and frames[0].module_offset is None
        and frames[0].address == ip
        and module_offset is not None
        and not mappings
    ):
        frames = (replace(frames[0], module=module, module_offset=module_offset), *frames[1:])
    return {
        **values,
        "fault": fault,
        "instruction": instruction,
        "module": module,
        "module_base": base,
        "module_offset": module_offset,
        "frames": frames,
    }


@dataclass(frozen=True)
class _Mapped:
    module: str  # the mapped file's basename
    load_base: int
    offset: int  # from the load base


def _mapped(address: int, mappings: Sequence[MemoryMapping]) -> _Mapped | None:
    """Where an address in a mapped file lies: its module and offset from the load base."""
    for mapping in mappings:
        if mapping.path and mapping.path.startswith("/") and mapping.start <= address < mapping.end:
            load_base = min(m.start for m in mappings if m.path == mapping.path)
            return _Mapped(mapping.path.rsplit("/", 1)[-1], load_base, address - load_base)
    return None


def _locate(frame: Frame, mappings: Sequence[MemoryMapping]) -> Frame:
    if frame.module_offset is not None or frame.address is None:
        return frame
    found = _mapped(frame.address, mappings)
    if found is None:
        return frame
    return replace(frame, module=frame.module or found.module, module_offset=found.offset)
