"""Signal numbers and names as Linux on x86-64 and arm64 uses them."""

from __future__ import annotations

NAMES: dict[int, str] = {
    1: "SIGHUP",
    2: "SIGINT",
    3: "SIGQUIT",
    4: "SIGILL",
    5: "SIGTRAP",
    6: "SIGABRT",
    7: "SIGBUS",
    8: "SIGFPE",
    9: "SIGKILL",
    10: "SIGUSR1",
    11: "SIGSEGV",
    12: "SIGUSR2",
    13: "SIGPIPE",
    14: "SIGALRM",
    15: "SIGTERM",
    16: "SIGSTKFLT",
    17: "SIGCHLD",
    18: "SIGCONT",
    19: "SIGSTOP",
    20: "SIGTSTP",
    21: "SIGTTIN",
    22: "SIGTTOU",
    23: "SIGURG",
    24: "SIGXCPU",
    25: "SIGXFSZ",
    26: "SIGVTALRM",
    27: "SIGPROF",
    28: "SIGWINCH",
    29: "SIGIO",
    30: "SIGPWR",
    31: "SIGSYS",
}
NUMBERS: dict[str, int] = {name: number for number, name in NAMES.items()}
NUMBERS["SIGIOT"] = 6
NUMBERS["SIGPOLL"] = 29

# Signals whose default action dumps core: the ones segbot investigates.
CORE_SIGNALS = frozenset(
    {
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGSEGV",
        "SIGSYS",
        "SIGXCPU",
        "SIGXFSZ",
    }
)


def name_of(token: str) -> str | None:
    """`11`, `SEGV`, `SIGSEGV` or `sigsegv` to `SIGSEGV`; None when it is none of them."""
    token = token.strip().upper()
    if token.isdigit():
        return NAMES.get(int(token))
    if not token.startswith("SIG"):
        token = "SIG" + token
    return token if token in NUMBERS else None
