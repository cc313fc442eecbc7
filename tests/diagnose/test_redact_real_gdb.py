"""Secrets in real gdb output never leave the step: a crash inside `login(user, password)`
(compiled and run here, its real core read by real gdb through the diagnose use case) shows the
password string gdb prints after the pointer; a JSON value with spaces is masked whole."""

from __future__ import annotations

import resource
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.adapters.local_runner import LocalRunner
from bot.app.diagnose import Inventory, diagnose_host
from bot.domain.playbook import load_playbook
from bot.domain.redact import redact

SOURCE = Path(__file__).parent / "data" / "login.c"
PASSWORD = "Sup3r S3cret!"


def _core(tmp_path: Path) -> None:
    for tool in ("gcc", "gdb"):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool}")
    if Path("/proc/sys/kernel/core_pattern").read_text().strip() != "core":
        pytest.skip("this test reads a plain ./core file (kernel.core_pattern=core)")
    subprocess.run(["gcc", "-O0", "-g", "-o", str(tmp_path / "login"), str(SOURCE)], check=True)

    def unlimited_core() -> None:
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

    child = subprocess.run([str(tmp_path / "login")], cwd=tmp_path, preexec_fn=unlimited_core,
                           capture_output=True, timeout=30, check=False)
    assert child.returncode == -11 and (tmp_path / "core").exists()


def test_a_password_argument_in_a_real_backtrace_is_masked(tmp_path: Path) -> None:
    _core(tmp_path)
    book = load_playbook("\n".join([
        "steps:", "  - id: backtrace", "    title: Backtrace",
        "    command: gdb -q -nx -batch -ex \"set pagination off\" -ex \"thread apply all bt\""
        " ./login core", "    timeout: 60"]), name="gdb")
    result = diagnose_host(
        runner=LocalRunner(tmp_path), playbook=book, evidence_dir=tmp_path / "evidence",
        now=datetime.now(UTC),
        inventory=Inventory(host="here", service="login", unit="login.service",
                            binary=str(tmp_path / "login"), user="segbot", sudo=False))
    [step] = result.steps
    assert step.status == "ok" and "login (user=" in step.output, step
    assert "bob" in step.output  # only the sensitive argument is masked
    assert "Sup3r" not in step.output and "S3cret" not in step.output, step.output


@pytest.mark.parametrize("text", [
    '{"password": "p a s s", "user": "app"}',
    "db_password: 'p a s s'",
    'client_secret = "p \\"a\\" s s"',
])
def test_quoted_values_with_spaces_are_masked_whole(text: str) -> None:
    masked = redact(text)
    assert "s s" not in masked and "p a" not in masked, masked
    assert redact(masked) == masked
