"""What kind of crash this is, after the segfault operations playbook's "common mistakes"."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from bot.domain import siginfo
from bot.domain.crash import Crash
from bot.domain.signature import normalize_function
from bot.domain.sites import count_sites

Confidence = Literal["low", "medium", "high"]
NULL_PAGE = 0x10000  # vm.mmap_min_addr: nothing is ever mapped below it
_STACK_REACH = 1 << 20
_NON_CANONICAL = 0x0000_8000_0000_0000
_SENT = frozenset({"SI_USER", "SI_TKILL", "SI_QUEUE"})


@dataclass(frozen=True)
class Classification:
    kind: str
    confidence: Confidence
    evidence: tuple[str, ...]


def classify(crashes: Sequence[Crash]) -> Classification | None:
    with_site = [c for c in crashes if c.has_site or c.signal]
    if not with_site:
        return None
    primary = max(with_site, key=_richness)
    result = _classify_one(primary)
    sites = count_sites(crashes)
    if sites.count > 1 and result.kind not in {"stack-overflow"}:
        return Classification(
            "memory-corruption-suspected",
            "medium",
            (
                f"{sites.count} different crash sites ({', '.join(sites.names)}): a crash site "
                "that moves points at memory corruption (overflow, use-after-free) earlier "
                "than the crash",
                *result.evidence,
            ),
        )
    return result


def _richness(crash: Crash) -> tuple[int, int, int]:
    return (int(crash.fault_address is not None), len(crash.sources), len(crash.frames))


def _classify_one(crash: Crash) -> Classification:
    signal, address, instr = crash.signal, crash.fault_address, crash.instruction
    evidence: list[str] = []
    if instr is not None:
        text = f"faulting instruction `{instr.text}`"
        if instr.memory and instr.memory.base and instr.base_value is not None:
            text += f": {instr.memory.base} held {instr.base_value:#x}"
            if instr.base_value < NULL_PAGE:
                text += " (NULL or near-NULL)" if instr.base_value else " (NULL)"
        evidence.append(text)
    if signal != "SIGABRT" and crash.signal_code in _SENT:
        return Classification(
            "signal-sent",
            "high",
            (
                f"{signal} was sent ({crash.signal_code}: kill, tgkill or raise), not raised by "
                "a bad access: find the sender (a watchdog, a supervisor, the program itself)",
                *evidence,
            ),
        )
    if signal == "SIGABRT" or _aborted(crash):
        return Classification(
            "abort",
            "high",
            (
                "the process aborted itself (abort, assert, "
                "std::terminate or a fortify/heap check)",
                *evidence,
            ),
        )
    if signal == "SIGILL":
        return Classification(
            "illegal-instruction",
            "medium",
            (
                "SIGILL: a jump into corrupted code, a bad function pointer, or a binary built for "
                "CPU features this host lacks (check -march and the CPU flags)",
                *evidence,
            ),
        )
    if signal == "SIGFPE":
        return Classification(
            "divide-error", "high", ("SIGFPE: integer division by zero or overflow", *evidence)
        )
    if signal == "SIGBUS":
        return Classification(
            "bus-error",
            "medium",
            ("SIGBUS: a mapped file shrank under the process, or an alignment fault", *evidence),
        )
    if (crash.trap and crash.trap.startswith("general protection")) or (
        signal == "SIGSEGV" and crash.signal_code == "SI_KERNEL"
    ):
        if instr is not None and instr.is_call_or_jump:
            return Classification(
                "bad-function-pointer",
                "high",
                ("general protection fault on an indirect call or jump", *evidence),
            )
        return Classification(
            "wild-pointer",
            "medium",
            (
                "general protection fault: a non-canonical pointer (garbage, freed or "
                "uninitialised memory) was used",
                *evidence,
            ),
        )
    view = _fault_view(crash)
    if view is None or address is None:
        kind = "unknown"
        if signal == "SIGSEGV":
            evidence.insert(0, "SIGSEGV without a kernel line: the fault address is unknown")
        return Classification(kind, "low", tuple(evidence))
    evidence.insert(0, f"fault at {address:#x}: {view.text}")
    return _by_address(crash, address=address, view=view, evidence=evidence)


@dataclass(frozen=True)
class _FaultView:
    """What is known of the access: the kernel's error code tells it all; the core's si_code
    only whether the page was mapped (and an address equal to the ip is an instruction fetch)."""

    cause: str
    access: str | None
    reserved_bit: bool
    text: str


def _fault_view(crash: Crash) -> _FaultView | None:
    fault = crash.fault
    if fault is not None:
        return _FaultView(fault.cause, fault.access, fault.reserved_bit,
                          f"{fault.describe()} (error {fault.code:#x})")
    cause = siginfo.cause(crash.signal_code)
    if cause is None or crash.fault_address is None:
        return None
    access = "exec" if crash.fault_address == crash.ip else None
    what = "instruction fetch from " if access == "exec" else ""
    page = "an unmapped page" if cause == "not-present" else "a page that forbids it"
    return _FaultView(cause, access, False,
                      f"{what}{page} ({crash.signal_code} in the core's siginfo)")


def _by_address(
    crash: Crash, *, address: int, view: _FaultView, evidence: list[str]
) -> Classification:
    if view.access == "exec":
        if view.cause == "protection":
            return Classification(
                "exec-non-exec",
                "high",
                (*evidence, "jumped into memory that is not executable (stack, heap or data)"),
            )
        if address < NULL_PAGE:
            return Classification(
                "bad-function-pointer",
                "high",
                (*evidence, "call through a NULL (or near-NULL) function pointer"),
            )
        return Classification(
            "bad-function-pointer",
            "medium",
            (
                *evidence,
                "jumped to an unmapped address: corrupted function pointer or return address",
            ),
        )
    if view.cause == "protection" and view.access == "write":
        return Classification(
            "write-to-readonly",
            "high",
            (*evidence, "wrote to read-only memory (a string literal, const data or code)"),
        )
    if view.cause == "protection" and view.access is None:
        return Classification(
            "write-to-readonly",
            "medium",
            (*evidence, "a mapped page refused the access: most often a write to read-only "
             "memory (a string literal, const data or code)"),
        )
    if (
        crash.sp is not None
        and view.cause == "not-present"
        and crash.sp - _STACK_REACH <= address <= crash.sp + 4096
        and address >= NULL_PAGE
    ):
        return Classification(
            "stack-overflow",
            "high",
            (
                *evidence,
                f"the fault is just below the stack pointer {crash.sp:#x}: the stack "
                "ran into its guard page (deep recursion or a huge frame)",
            ),
        )
    if _recursion(crash):
        return Classification(
            "stack-overflow", "medium", (*evidence, "the same function repeats down the stack")
        )
    if address < NULL_PAGE:
        return Classification(
            "null-deref",
            "high",
            (
                *evidence,
                f"an address this small is a field at offset {address:#x} of a NULL pointer",
            ),
        )
    if view.reserved_bit:
        return Classification(
            "memory-corruption-suspected",
            "low",
            (*evidence, "reserved bit set in a page-table entry: suspect the kernel or hardware"),
        )
    if address >= _NON_CANONICAL:
        return Classification(
            "wild-pointer", "medium", (*evidence, "the address is not a user-space address")
        )
    return Classification(
        "wild-pointer",
        "medium",
        (*evidence, "an unmapped address far from NULL: a dangling, freed or corrupted pointer"),
    )


def _aborted(crash: Crash) -> bool:
    names = {normalize_function(f.function) for f in crash.crashing_frames()[:6] if f.function}
    return bool(
        names & {"abort", "__GI_abort", "__assert_fail", "raise", "__pthread_kill_implementation"}
    )


def _recursion(crash: Crash) -> bool:
    names = [f.function for f in crash.crashing_frames() if f.function]
    return len(names) >= 50 and len(set(names[:50])) <= 3
