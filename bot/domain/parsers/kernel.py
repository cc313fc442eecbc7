"""Kernel log lines: segfaults, traps and general protection faults, `Code:` bytes, OOM kills.

checkout-api[24891]: segfault at 38 ip 000055c1b2f9a4d2 sp 00007ffd7b5d1a10 error 4
    in checkout-api[55c1b2f82000+3e0000]            (or [FILE_OFF,BASE+SIZE] since 6.x)
    likely on CPU 3 (core 1, socket 0)               (optional)
traps: checkout-api[24891] general protection fault ip:55c1b2f9a4d2 sp:7ffd7b5d1a10 error:0
    in checkout-api[55c1b2f82000+3e0000]
Code: 48 8b 47 38 ... <48> 8b 40 08
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Literal, TypedDict

from bot.domain import signals
from bot.domain.evidence import CodeBytes, CrashEvidence, Fact, OomKill
from bot.domain.logline import LogLine, parse_line, split_records
from bot.domain.parsers.result import Parsed

_HEX = r"[0-9a-fA-F]+"
_MODULE = (
    rf"(?:\s+in\s+(?P<module>.*?)\[(?:(?P<file_off>{_HEX}),)?(?P<base>{_HEX})\+(?P<size>{_HEX})\])?"
)
_CPU = r"(?:\s+likely on CPU (?P<cpu>\d+)(?: \(core \d+, socket \d+\))?)?"
_SEGFAULT = re.compile(
    rf"^(?P<comm>.+?)\[(?P<pid>\d+)\]:? segfault at (?P<addr>{_HEX}) "
    rf"(?:ip|rip) (?P<ip>{_HEX}|\(null\)) (?:sp|rsp) (?P<sp>{_HEX}) error (?P<error>{_HEX})"
    rf"{_MODULE}{_CPU}"
)
_TRAP = re.compile(
    rf"^(?:traps: )?(?P<comm>.+?)\[(?P<pid>\d+)\]:? "
    rf"(?P<trap>general protection fault|general protection|trap [a-z0-9 ]+?|"
    rf"(?:stack|alignment|bounds|overflow) [a-z ]*?)"
    rf"(?: addr:(?P<addr>{_HEX}))? ip:(?P<ip>{_HEX}) sp:(?P<sp>{_HEX}) error:(?P<error>{_HEX})"
    rf"{_MODULE}{_CPU}"
)
# arm64: "polipo[1657]: unhandled level 3 translation fault (11) at 0xffffcd912fe0, esr 0x92000047"
# (", in MOD[BASE+SIZE]" since 4.x), then the registers: "PC is at 0x..." or "pc : [<...>]".
_ARM64 = re.compile(
    rf"^(?P<comm>.+?)\[(?P<pid>\d+)\]: unhandled (?P<trap>[a-z0-9 ]+?) \((?P<signo>\d+)\)"
    rf" at 0x(?P<addr>{_HEX}), esr 0x(?P<esr>{_HEX})(?:,?{_MODULE})?"
)
_ARM64_PC = re.compile(rf"(?:^|\]|\s)(?:PC is at 0x|pc : \[<|pc : )(?P<pc>{_HEX})\b")
_CODE = re.compile(r"^Code:\s+(?P<bytes>(?:<?\(?[0-9a-fA-F]{2}\)?>?\s*)+)$")
_OOM = re.compile(
    r"(?:Out of memory: |Memory cgroup out of memory: )?Kill(?:ed)? process (?P<pid>\d+) "
    r"\((?P<comm>[^)]*)\)"
)
_OOM_TASK = re.compile(r"^oom-kill:.*?\btask=(?P<comm>[^,]*),pid=(?P<pid>\d+)")

_TRAP_SIGNALS = {
    "general protection": "SIGSEGV",
    "trap invalid opcode": "SIGILL",
    "trap int3": "SIGTRAP",
    "trap divide error": "SIGFPE",
    "trap stack segment": "SIGBUS",
    "trap alignment check": "SIGBUS",
    "trap bounds": "SIGSEGV",
    "trap overflow": "SIGSEGV",
}


def parse(
    text: str, *, year: int | None = None, host: str | None = None, expected: bool = False
) -> Parsed:
    """Crashes: CrashEvidence(source="kernel") per segfault or trap line: pid, process, signal,
    trap, fault_address, ip, sp, error_code, module/module_base/module_size or file_offset, cpu,
    code (the `Code:` line). Facts: OomKill(pid, process)."""
    lines = split_records(text)
    # Each crash's fields stay open until the lines after it (its `Code:`, an arm64 pc) are
    # read, so that each CrashEvidence is built once.
    crashes: list[_Fields] = []
    facts: list[Fact] = []
    claimed: set[int] = set()
    for index, raw in enumerate(lines):
        line = parse_line(raw, year=year)
        message = line.message
        if (crash := _crash(line, host)) is not None:
            crashes.append(crash)
            claimed.add(index)
        elif (
            ("PC is at 0x" in message or "pc : " in message)
            and (match := _ARM64_PC.search(message))
            and crashes
            and crashes[-1]["ip"] is None
        ):
            crashes[-1]["ip"] = int(match["pc"], 16)
            claimed.add(index)
        elif (stripped := message.strip()).startswith("Code:") and crashes and (
            marked := _code_line(stripped)
        ).matched:
            if marked.code is not None and crashes[-1]["code"] is None:
                crashes[-1]["code"] = marked.code
            claimed.add(index)
        elif message.startswith("Code: "):
            claimed.add(index)  # "Code: Unable to access opcode bytes at ..." says nothing more
        elif (match := _oom(message)) is not None:
            facts.append(
                OomKill(
                    pid=int(match["pid"]), process=match["comm"], time=line.time, source="kernel"
                )
            )
            claimed.add(index)
    return Parsed(
        crashes=tuple(CrashEvidence(**fields) for fields in crashes),
        facts=_unique(facts),
        claimed=frozenset(claimed),
        lines=len(lines),
    )


class _Fields(TypedDict):
    """A kernel line's CrashEvidence, field by field, before it is built."""

    source: Literal["kernel"]
    pid: int
    time: datetime | None
    uptime_seconds: float | None
    host: str | None
    process: str
    signal: str
    trap: str | None
    fault_address: int | None
    ip: int | None
    sp: int | None
    error_code: int | None
    module: str | None
    module_base: int | None
    module_size: int | None
    file_offset: int | None
    cpu: int | None
    code: CodeBytes | None


def _oom(message: str) -> re.Match[str] | None:
    if "Kill" not in message and not message.startswith("oom-kill:"):
        return None  # neither pattern can match: skip the search over the whole line
    return _OOM.search(message) or _OOM_TASK.match(message)


@dataclass(frozen=True)
class _CodeLine:
    matched: bool  # the line has the `Code:` bytes shape
    code: CodeBytes | None  # None when no byte is marked


@lru_cache(maxsize=256)
def _code_line(stripped: str) -> _CodeLine:
    """Read once per distinct line: a crash loop prints the same `Code:` bytes every time."""
    match = _CODE.match(stripped)
    if match is None:
        return _CodeLine(matched=False, code=None)
    return _CodeLine(matched=True, code=code_bytes(match["bytes"]))


def _crash(line: LogLine, host: str | None) -> _Fields | None:
    """The fields of the CrashEvidence a segfault or trap line holds."""
    message = line.message
    if message.startswith("`") and message.rstrip().endswith("`"):
        message = message.strip().strip("`")  # pasted as Markdown inline code
    if line.ident not in {None, "kernel"} and line.pid is not None:
        # "[ 4.59] systemd[1]: segfault at ..." read as systemd's own line: the ident is the comm.
        message = f"{line.ident}[{line.pid}]: {message}"
    if "segfault at" in message and (match := _SEGFAULT.search(message)):
        signal, trap = "SIGSEGV", None
    elif "unhandled" in message and (match := _ARM64.search(message)):
        signal, trap = signals.name_of(match["signo"]) or "SIGSEGV", None
    elif "ip:" in message and (match := _TRAP.search(message)):
        trap = match["trap"].strip()
        signal = next(
            (sig for name, sig in _TRAP_SIGNALS.items() if trap.startswith(name)), "SIGSEGV"
        )
    else:
        return None
    groups = match.groupdict()
    base = _hex(match["base"])
    size = _hex(match["size"])
    module = match["module"] if base is not None else None
    return {
        "source": "kernel",
        "pid": int(match["pid"]),
        "time": line.time,
        "uptime_seconds": line.uptime,
        "host": host or line.host,
        "process": _comm(match["comm"]),
        "signal": signal,
        "trap": trap,
        "fault_address": _hex(match["addr"]),
        "ip": _hex(groups.get("ip")),
        "sp": _hex(groups.get("sp")),
        "error_code": _hex(groups.get("error")),
        "module": module or None,
        "module_base": base,
        "module_size": size,
        "file_offset": _hex(match["file_off"]),
        "cpu": int(groups["cpu"]) if groups.get("cpu") else None,
        "code": None,
    }


# Text a paste leaves before the comm: "kernel: ", "traps: ", a dmesg stamp, a grep file name,
# a vendor's "[pid:N,cpuN,comm]".
_LEADING = re.compile(r"^(?:kernel:\s+|traps:\s+|\[\s*\d+\.\d+\s*\]\s*)+")
_MARKERS = ("kernel: ", "traps: ", "]")
_COMM_LEN = 15  # TASK_COMM_LEN - 1


def _comm(text: str) -> str:
    """The process name the kernel printed, without prefixes the line reader did not know."""
    comm = _LEADING.sub("", text)
    if len(comm) > _COMM_LEN:
        cut = max((comm.rfind(marker) + len(marker) for marker in _MARKERS if marker in comm),
                  default=0)
        comm = _LEADING.sub("", comm[cut:]) or comm
    return comm


def code_bytes(text: str) -> CodeBytes | None:
    """Bytes of a `Code:` line; the faulting one is in <>, or in () when the kernel marks a
    fault in the bytes before the ip (prologue); None when no byte is marked."""
    tokens = text.split()
    fault_index = next((i for i, token in enumerate(tokens)
                        if token[0] in "<(" and token[-1] in ">)"), None)
    digits = [token.strip("<>()") for token in tokens]
    if fault_index is None or any(len(pair) != 2 for pair in digits):
        return None
    try:  # one conversion for the line: a kernel log in a crash loop holds dozens
        data = bytes.fromhex("".join(digits))
    except ValueError:
        return None
    return CodeBytes(data=data, fault_index=fault_index)


def _hex(text: str | None) -> int | None:
    if text == "(null)":  # older kernels print a zero pointer this way
        return 0
    return int(text, 16) if text else None


def _unique(facts: list[Fact]) -> tuple[Fact, ...]:
    return tuple(dict.fromkeys(facts))
