"""The core's own signal record, without a kernel line: real programs crash six ways here, real
gdb runs the playbook's backtrace command on each core (through `sh -c`, as on a host), and the
si_code and fault address it prints lead triage where the shared kernel log lost the line."""

from __future__ import annotations

import resource
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.adapters.slack.blocks import headline
from bot.config import default_playbook_path
from bot.domain import siginfo
from bot.domain.decode import Section, decode_sections
from bot.domain.playbook import load_playbook, render

SOURCE = Path(__file__).resolve().parents[1] / "crashers" / "faults.c"


@pytest.fixture(scope="module")
def faults(tmp_path_factory: pytest.TempPathFactory) -> Path:
    for tool in ("gcc", "gdb"):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool}")
    pattern = Path("/proc/sys/kernel/core_pattern").read_text().strip()
    if pattern != "core":
        pytest.skip(f"core_pattern is {pattern!r}; this test reads a plain ./core file")
    binary = tmp_path_factory.mktemp("faults") / "faults"
    subprocess.run(["gcc", "-O2", "-g", "-o", str(binary), str(SOURCE)], check=True)
    return binary


def _backtrace_command(binary: Path, core: Path) -> str:
    """The shipped playbook's gdb step, rendered for this binary and core."""
    playbook = load_playbook(default_playbook_path().read_text(), name="segfault")
    template = playbook.step("backtrace").command
    assert template is not None
    return render(template, {"binary": str(binary), "core_path": str(core)})


def _crash_and_read_core(binary: Path, how: str, where: Path) -> tuple[str, str]:
    def unlimited_core() -> None:
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

    child = subprocess.run([str(binary), how], cwd=where, preexec_fn=unlimited_core,
                           capture_output=True, timeout=30, check=False)
    assert child.returncode in (-11, -6), (how, child.returncode, child.stderr)
    core = where / "core"
    assert core.exists()
    command = _backtrace_command(binary, core)
    gdb = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=120,
                         check=False)
    assert gdb.returncode == 0, gdb.stderr
    return command, gdb.stdout


@pytest.mark.parametrize(("how", "signal", "code", "address", "kind", "confidence"), [
    ("n", "SIGSEGV", "SEGV_MAPERR", 0x8, "null-deref", "high"),
    ("r", "SIGSEGV", "SEGV_ACCERR", None, "write-to-readonly", "medium"),
    ("c", "SIGSEGV", "SEGV_MAPERR", 0x0, "bad-function-pointer", "high"),
    ("w", "SIGSEGV", "SI_KERNEL", None, "wild-pointer", "medium"),
    ("k", "SIGSEGV", "SI_TKILL", None, "signal-sent", "high"),
    ("a", "SIGABRT", "SI_TKILL", None, "abort", "high"),  # abort() sends itself SIGABRT
])
def test_the_core_alone_names_the_fault(faults: Path, tmp_path: Path, how: str, signal: str,
                                        code: str, address: int | None, kind: str,
                                        confidence: str) -> None:
    command, output = _crash_and_read_core(faults, how, tmp_path)
    assert "$_siginfo" in command and "$1 = {si_signo = " in output, output
    report = decode_sections([Section(output=output, command=command)])
    [crash] = report.crashes
    assert crash.sources == ("gdb",) and crash.signal == signal
    assert crash.signal_code == code
    if how == "r":  # the string literal's address: read-only data of the program, not NULL
        assert crash.fault_address is not None and crash.fault_address > 0x10000
    else:
        assert crash.fault_address == address
    assert report.classification is not None
    assert (report.classification.kind, report.classification.confidence) == (kind, confidence)
    assert report.unrecognized_lines == 0
    if address is not None:  # the report's first line shows it with its meaning
        shown = f"fault address `{address:#x}` ({siginfo.describe(code)})"
        assert shown in headline(crash, report), headline(crash, report)
