"""gdb's `print $_siginfo` as the playbook prints it and as people paste it, and which si_code
makes si_addr a fault address. The recorded lab outputs are under tests/fixtures/gdb/lab_*."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain import siginfo
from bot.domain.parsers import gdb
from bot.domain.parsers.gdb_siginfo import SigInfoLines

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "gdb"


def _read(text: str) -> SigInfoLines:
    reader = SigInfoLines()
    for line in text.splitlines():
        reader.read(line.strip())
    return reader


def test_one_line_and_pretty_prints_of_the_same_core_agree() -> None:
    compact = _read((FIXTURES / "lab_siginfo.out").read_text()).found
    pretty = _read((FIXTURES / "lab_siginfo_pretty.out").read_text()).found
    assert compact == pretty == siginfo.SigInfo(signo=11, code=1, address=0x8)


def test_a_core_without_the_note_and_gdb_without_a_core_say_nothing() -> None:
    assert _read((FIXTURES / "lab_no_siginfo_note.out").read_text()).found is None
    reader = SigInfoLines()
    assert reader.read("$1 = void") and reader.read("Unable to read siginfo")
    assert reader.found is None


def test_a_paste_of_only_the_print_is_a_crash_with_its_fault_address() -> None:
    text = ("(gdb) p $_siginfo\n$3 = {si_signo = 7, si_errno = 0, si_code = 2, _sifields = "
            "{_sigfault = {si_addr = 0x7f1c2a400000, _addr_lsb = 0}}}\n")
    [crash] = gdb.parse(text).crashes
    assert (crash.signal, crash.signal_code, crash.fault_address) == (
        "SIGBUS", "BUS_ADRERR", 0x7F1C2A400000)


def test_pretty_print_ends_with_its_braces() -> None:
    text = "$1 = {\n  si_signo = 11,\n  si_code = 2,\n  _sifields = {\n    _sigfault = {\n" \
           "      si_addr = 0x1000,\n    }\n  }\n}\nsi_addr = 0x99\n"
    reader = _read(text)
    assert reader.found == siginfo.SigInfo(signo=11, code=2, address=0x1000)


@pytest.mark.parametrize(("signal", "code", "name", "address"), [
    ("SIGSEGV", 1, "SEGV_MAPERR", 0x8),
    ("SIGSEGV", 2, "SEGV_ACCERR", 0x8),
    ("SIGSEGV", 4, "SEGV_PKUERR", 0x8),
    ("SIGSEGV", 0x80, "SI_KERNEL", None),  # a general protection fault: si_addr is 0
    ("SIGSEGV", 0, "SI_USER", None),  # kill(): the union holds the sender's pid
    ("SIGSEGV", -6, "SI_TKILL", None),
    ("SIGBUS", 1, "BUS_ADRALN", 0x8),
    ("SIGILL", 2, "ILL_ILLOPN", None),  # si_addr is the instruction, not data
    ("SIGFPE", 1, "FPE_INTDIV", None),
    ("SIGSEGV", 99, None, 0x8),  # a code this table does not know, still a kernel fault
    ("SIGABRT", 3, None, None),
])
def test_which_codes_carry_a_fault_address(signal: str, code: int, name: str | None,
                                           address: int | None) -> None:
    assert siginfo.code_name(signal, code) == name
    assert siginfo.fault_address(signal, code, 0x8) == address
