"""`coredumpctl info` (any systemd version) and systemd-coredump's journal message.

PID: 24891 (checkout-api)   Signal: 11 (SEGV)   Storage: /var/lib/... (present)
Module /opt/checkout/bin/checkout-api with build-id 9b7c6fd3...      (also the two older forms)
Stack trace of thread 24891:
#0  0x000055c1b2f9a4d2 n/a (checkout-api + 0x184d2)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime

from bot.domain import signals
from bot.domain.evidence import BuildId, CoreFile, CrashEvidence, Fact, Frame
from bot.domain.logline import parse_line, split_records
from bot.domain.parsers.result import Parsed
from bot.domain.sizes import parse_size
from bot.domain.timestamps import parse_coredumpctl_time

_FIELD = re.compile(r"^(?P<key>[A-Z][A-Za-z ]{1,20}?):\s+(?P<value>.*)$")
_PID = re.compile(r"^(?P<pid>\d+)(?: \((?P<comm>.*)\))?")
_PROCESS_DUMPED = re.compile(
    r"Process (?P<pid>\d+) \((?P<comm>.*?)\) of user (?P<uid>\d+) "
    r"(?:dumped core|terminated abnormally with signal (?P<sig>\d+)/(?P<name>\w+))"
)
_MODULE = re.compile(
    r"^(?:Found module|Module) (?P<name>.+?)(?: from (?:deb|rpm|package) (?P<package>\S+?))?"
    r"(?:,? with build-id:? | build-id=| without build-id)(?P<build_id>[0-9a-f]*)\.?$"
)
_THREAD = re.compile(r"^Stack trace of thread (?P<tid>\d+):$")
_FRAME = re.compile(
    r"^#(?P<index>\d+)\s+0x(?P<address>[0-9a-f]+)\s+(?P<function>.+?)"
    r"\s+\((?P<module>[^()]*?)(?:\s+\+\s+0x(?P<offset>[0-9a-f]+))?\)$"
)
_STORAGE = re.compile(r"^(?P<path>.*?)(?:\s+\((?P<state>[a-z ]+)\))?$")
# A journal entry copied out of a web view loses its line breaks: the continuation lines follow
# each other after runs of spaces.
_FLATTENED = re.compile(
    r"(?<=\S)\s{3,}(?=Stack trace of thread |#\d+\s+0x|(?:Found module|Module) |"
    r"[A-Z][a-z]{2}\s+\d{1,2} \d\d:\d\d:\d\d )"
)
_UNESCAPE = re.compile(r"\\x([0-9a-fA-F]{2})")
_NOISE = (
    "ELF object binary architecture",
    "Boot ID",
    "Machine ID",
    "Slice",
    "Owner UID",
    "Control Group",
    "Hostname",
    "UID",
    "GID",
    "Package",
    "Mount",
    "Disk Size",
)


@dataclass
class _Entry:
    pid: int | None = None
    comm: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    frames: list[Frame] = field(default_factory=list)
    threads: list[int] = field(default_factory=list)
    modules: list[BuildId] = field(default_factory=list)
    time: datetime | None = None


def parse(
    text: str, *, year: int | None = None, host: str | None = None, expected: bool = False
) -> Parsed:
    """Crashes: CrashEvidence(source="coredump") per core: pid, process, executable, unit,
    signal, time, command_line, corefile, build_id, crashing_thread, frames (Frame: index, thread,
    address, function, module, module_offset). Facts: CoreFile, BuildId per module."""
    lines = split_records(text)
    entries: list[_Entry] = []
    claimed: set[int] = set()
    thread: int | None = None
    pieces = [(index, piece) for index, raw in enumerate(lines) for piece in _unflatten(raw)]
    for index, raw in pieces:
        line = parse_line(raw, year=year)
        message = line.message.strip()
        if (match := _PROCESS_DUMPED.search(message)) and (
            not entries or entries[-1].pid != int(match["pid"])
        ):
            entries.append(_Entry(pid=int(match["pid"]), comm=match["comm"], time=line.time))
            if match["sig"]:
                entries[-1].fields["Signal"] = match["sig"]
            claimed.add(index)
            continue
        if (match := _FIELD.match(message)) and match["key"].strip() in _KEYS:
            key = match["key"].strip()
            if key == "PID":
                pid_match = _PID.match(match["value"])
                pid = int(pid_match["pid"]) if pid_match else None
                if not entries or entries[-1].pid != pid or entries[-1].fields.get("PID"):
                    entries.append(_Entry())
                entries[-1].pid = pid
                entries[-1].comm = pid_match["comm"] if pid_match else None
            if not entries:
                entries.append(_Entry())
            entries[-1].fields[key] = match["value"].strip()
            claimed.add(index)
            thread = None
            if key == "Message" and (dumped := _PROCESS_DUMPED.search(match["value"])):
                entries[-1].comm = entries[-1].comm or dumped["comm"]
            continue
        if not entries:
            continue
        entry = entries[-1]
        if match := _MODULE.match(message):
            if match["build_id"]:
                entry.modules.append(
                    BuildId(path=match["name"], build_id=match["build_id"], source="coredumpctl")
                )
            claimed.add(index)
        elif match := _THREAD.match(message):
            thread = int(match["tid"])
            entry.threads.append(thread)
            claimed.add(index)
        elif (match := _FRAME.match(message)) and thread is not None:
            entry.frames.append(_frame(match, thread))
            claimed.add(index)
        elif message.startswith(_NOISE) or not message:
            claimed.add(index)
    crashes, facts = _build(entries, host)
    return Parsed(
        crashes=tuple(crashes), facts=tuple(facts), claimed=frozenset(claimed), lines=len(lines)
    )


_KEYS = frozenset(
    {
        "PID",
        "UID",
        "GID",
        "Signal",
        "Timestamp",
        "Command Line",
        "Executable",
        "Control Group",
        "Unit",
        "User Unit",
        "Slice",
        "Owner UID",
        "Boot ID",
        "Machine ID",
        "Hostname",
        "Storage",
        "Size on Disk",
        "Disk Size",
        "Message",
        "Package",
        "Mount",
        "Coredump",
    }
)


def _unflatten(raw: str) -> list[str]:
    return _FLATTENED.split(raw) if "   " in raw.strip() else [raw]


def _frame(match: re.Match[str], thread: int) -> Frame:
    function = match["function"]
    # Before systemd 244 the module was the path ("/tmp/a.out"), with no "+ 0x" offset.
    module = match["module"].rsplit("/", 1)[-1] if match["module"] not in {"n/a", ""} else None
    return Frame(
        index=int(match["index"]),
        address=int(match["address"], 16),
        function=None if function in {"n/a", "??"} else function,
        module=module,
        module_offset=int(match["offset"], 16) if match["offset"] and module else None,
        thread=thread,
    )


def _build(entries: list[_Entry], host: str | None) -> tuple[list[CrashEvidence], list[Fact]]:
    crashes: list[CrashEvidence] = []
    facts: list[Fact] = []
    for entry in entries:
        fields = entry.fields
        signal = _signal(fields.get("Signal", ""))
        time = parse_coredumpctl_time(fields.get("Timestamp", "")) or entry.time
        executable = fields.get("Executable")
        storage, state = _storage(fields.get("Storage"))
        size = parse_size(fields.get("Size on Disk", fields.get("Disk Size", "")).split(" ")[0])
        modules = entry.modules
        main_build_id = next(
            (
                m.build_id
                for m in modules
                if executable and m.path in {executable, executable.rsplit("/", 1)[-1]}
            ),
            None,
        )
        frames = tuple(
            replace(f, build_id=_module_build_id(modules, f.module)) for f in entry.frames
        )
        crashes.append(
            CrashEvidence(
                source="coredump",
                pid=entry.pid,
                time=time,
                host=host or fields.get("Hostname"),
                process=entry.comm,
                executable=executable,
                unit=fields.get("Unit") or fields.get("User Unit"),
                signal=signal,
                build_id=main_build_id,
                crashing_thread=entry.threads[0] if entry.threads else None,
                frames=frames,
                command_line=fields.get("Command Line"),
                corefile=state or storage,
            )
        )
        facts.append(
            CoreFile(
                pid=entry.pid,
                signal=signal,
                corefile=state or storage,
                executable=executable,
                time=time,
                size=size,
                source="coredumpctl info",
            )
        )
        facts.extend(modules)
    return crashes, facts


def _signal(value: str) -> str | None:
    match = re.match(r"(\d+)(?: \((\w+)\))?", value)
    if not match:
        return signals.name_of(value) if value else None
    return signals.name_of(match[2] or match[1]) or signals.name_of(match[1])


def _storage(value: str | None) -> tuple[str | None, str | None]:
    if not value:
        return None, None
    match = _STORAGE.match(value)
    path = _UNESCAPE.sub(lambda m: chr(int(m[1], 16)), match["path"]) if match else value
    state = match["state"] if match and match["state"] else None
    if path in {"none", "journal"}:
        return path, path
    if state in {"present", "missing", "truncated", "inaccessible"}:
        return path, state
    return path, None


def _module_build_id(modules: list[BuildId], module: str | None) -> str | None:
    if module is None:
        return None
    return next(
        (
            m.build_id
            for m in modules
            if m.path == module or (m.path or "").rsplit("/", 1)[-1] == module
        ),
        None,
    )
