"""The signal's own record in a core (NT_SIGINFO, gdb's `$_siginfo`): the si_code's name and
meaning, and when si_addr is the faulting data address (codes: Linux asm-generic/siginfo.h)."""

from __future__ import annotations

from dataclasses import dataclass

_GENERIC = {
    0: "SI_USER",
    0x80: "SI_KERNEL",
    -1: "SI_QUEUE",
    -2: "SI_TIMER",
    -3: "SI_MESGQ",
    -4: "SI_ASYNCIO",
    -5: "SI_SIGIO",
    -6: "SI_TKILL",
}
_BY_SIGNAL = {
    "SIGSEGV": ("MAPERR", "ACCERR", "BNDERR", "PKUERR", "ACCADI", "ADIDERR", "ADIPERR",
                "MTEAERR", "MTESERR", "CPERR"),
    "SIGBUS": ("ADRALN", "ADRERR", "OBJERR", "MCEERR_AR", "MCEERR_AO"),
    "SIGILL": ("ILLOPC", "ILLOPN", "ILLADR", "ILLTRP", "PRVOPC", "PRVREG", "COPROC", "BADSTK",
               "BADIADDR"),
    "SIGFPE": ("INTDIV", "INTOVF", "FLTDIV", "FLTOVF", "FLTUND", "FLTRES", "FLTINV", "FLTSUB",
               "FLTUNK", "CONDTRAP"),
    "SIGTRAP": ("BRKPT", "TRACE", "BRANCH", "HWBKPT", "UNK", "PERF"),
}
_MEANING = {
    "SEGV_MAPERR": "address not mapped",
    "SEGV_ACCERR": "the page is mapped but forbids the access",
    "SEGV_PKUERR": "protection key violation",
    "BUS_ADRALN": "misaligned address",
    "BUS_ADRERR": "address past the end of a mapped file",
    "BUS_OBJERR": "hardware error on the object",
    "SI_KERNEL": "no fault address (a general protection fault)",
    "SI_USER": "sent by kill(), not a fault",
    "SI_TKILL": "sent by tgkill()/raise(), not a fault",
    "SI_QUEUE": "sent by sigqueue(), not a fault",
}
# Codes the kernel gives a real memory fault; others (kill, SI_KERNEL) carry no address.
_ADDRESSED = frozenset({"SIGSEGV", "SIGBUS"})


@dataclass(frozen=True)
class SigInfo:
    """si_signo, si_code and _sigfault.si_addr as the core recorded them."""

    signo: int | None = None
    code: int | None = None
    address: int | None = None


def code_name(signal: str | None, code: int | None) -> str | None:
    """`SEGV_MAPERR` for SIGSEGV's code 1; generic names (`SI_KERNEL`) for any signal."""
    if code is None:
        return None
    if code in _GENERIC:
        return _GENERIC[code]
    names = _BY_SIGNAL.get(signal or "", ())
    if 0 < code <= len(names) and signal:
        return f"{signal[3:]}_{names[code - 1]}"
    return None


def describe(name: str) -> str:
    """`SEGV_MAPERR: address not mapped`; the bare name for codes without a note."""
    return f"{name}: {_MEANING[name]}" if name in _MEANING else name


def fault_address(signal: str | None, code: int | None, address: int | None) -> int | None:
    """si_addr when it is the address the access faulted on: a SIGSEGV or SIGBUS the kernel
    raised for a memory access (0 < si_code < SI_KERNEL); else None, the union holds
    something else (a sender's pid, or 0 for a general protection fault)."""
    if signal not in _ADDRESSED or code is None or not 0 < code < 0x80:
        return None
    return address


def cause(name: str | None) -> str | None:
    """The page-fault cause the code implies, in the words pagefault.py uses."""
    return {"SEGV_MAPERR": "not-present", "SEGV_ACCERR": "protection"}.get(name or "")
