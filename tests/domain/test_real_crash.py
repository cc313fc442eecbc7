"""A real crash on this machine: a C program reads a struct field through NULL; the real kernel
line, the real core (with its siginfo), real gdb and readelf output decode into one crash."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from bot.domain.decode import Section, decode_sections

SOURCE = Path(__file__).resolve().parents[1] / "crashers" / "nullread.c"


def _need(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")


def _kernel_lines(pid: int) -> str:
    for _ in range(50):
        out = subprocess.run(["dmesg"], capture_output=True, text=True, check=False)
        if out.returncode != 0:
            pytest.skip("dmesg is not readable here (kernel.dmesg_restrict): run as root")
        lines = out.stdout.splitlines()
        # Pids are reused (the lab's crash loops churn through them): take the newest line.
        for index in range(len(lines) - 1, -1, -1):
            if f"nullread[{pid}]: segfault at" in lines[index]:
                return "\n".join(lines[index : index + 2])
        time.sleep(0.1)
    pytest.fail(f"no kernel segfault line for pid {pid}")


def test_real_null_read_decodes(tmp_path: Path) -> None:
    _need("gcc", "gdb", "readelf", "dmesg")
    pattern = Path("/proc/sys/kernel/core_pattern").read_text().strip()
    if pattern != "core":
        pytest.skip(f"core_pattern is {pattern!r}; this test reads a plain ./core file")
    binary = tmp_path / "nullread"
    subprocess.run(["gcc", "-O2", "-g", "-o", str(binary), str(SOURCE)], check=True)

    def unlimited_core() -> None:
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

    child = subprocess.Popen(
        [str(binary)], cwd=tmp_path, preexec_fn=unlimited_core, stdout=subprocess.PIPE, text=True
    )
    stdout, _ = child.communicate(timeout=30)
    assert child.returncode == -11
    core = tmp_path / "core"
    if not core.exists():
        core = tmp_path / f"core.{child.pid}"
    assert core.exists(), os.listdir(tmp_path)
    gdb = subprocess.run(
        [
            "gdb",
            "-q",
            "-batch",
            "-nx",
            str(binary),
            str(core),
            "-ex",
            "set pagination off",
            "-ex",
            "print $_siginfo",
            "-ex",
            "thread apply all bt",
            "-ex",
            "info proc mappings",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    ).stdout
    readelf = subprocess.run(
        ["readelf", "-n", str(binary)], capture_output=True, text=True, check=True
    ).stdout
    report = decode_sections(
        [
            Section(output=_kernel_lines(child.pid), command="dmesg"),
            Section(output=gdb, command=f"gdb -q {binary} {core}"),
            Section(output=readelf, command=f"readelf -n {binary}"),
            Section(output=stdout, command="journalctl -u nullread"),
        ]
    )
    assert len(report.crashes) == 1
    crash = report.crashes[0]
    assert crash.pid == child.pid
    assert crash.signal == "SIGSEGV"
    assert crash.fault_address == 0x38
    assert crash.signal_code == "SEGV_MAPERR"  # the core's siginfo, merged into the same crash
    [gdb_alone] = decode_sections([Section(output=gdb, command=f"gdb -q {binary} {core}")]).crashes
    assert gdb_alone.fault_address == 0x38  # the core says what the kernel line says
    assert {"kernel", "gdb"} <= set(crash.sources)
    assert crash.executable == str(binary)
    assert crash.build_id is not None and crash.build_id in readelf
    assert crash.frames[0].function == "apply_rule"
    assert report.classification is not None and report.classification.kind == "null-deref"
    assert report.signature == "SIGSEGV apply_rule"
    if crash.instruction is not None:  # the Code: line is printed unless rate-limited
        assert crash.instruction.base_value == 0


def test_kernel_line_alone_symbolized_with_the_binary(tmp_path: Path) -> None:
    """A bare kernel line (as an alert carries it) plus the binary gives function and line."""
    _need("gcc", "dmesg")
    from bot.app.enrich import SymbolSources, symbolize_report
    from bot.domain.decode import decode_text

    binary = tmp_path / "nullread"
    subprocess.run(["gcc", "-O2", "-g", "-o", str(binary), str(SOURCE)], check=True)
    child = subprocess.run([str(binary)], cwd=tmp_path, capture_output=True, check=False)
    assert child.returncode == -11
    lines = subprocess.run(["dmesg"], capture_output=True, text=True, check=False).stdout
    crash_lines = [ln for ln in lines.splitlines() if "nullread[" in ln and "segfault" in ln]
    if not crash_lines:
        pytest.skip("no kernel line readable (kernel.dmesg_restrict, or printk rate limit)")
    report, problems = symbolize_report(decode_text(crash_lines[-1]), SymbolSources(paths=[binary]))
    assert problems == []
    frame = report.crashes[0].frames[0]
    assert (frame.function, frame.file, frame.line) == ("apply_rule", str(SOURCE), 5)
    assert report.signature == "SIGSEGV apply_rule"
