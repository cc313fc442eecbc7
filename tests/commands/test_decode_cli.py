"""`segbot decode` as a user runs it: real process, real files, exit codes, JSON on stdout."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "tests/schemas/decoded-evidence.schema.json").read_text())


def _segbot(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )


def test_terminal_report_leads_with_the_crash() -> None:
    result = _segbot("decode", "examples/seed-bundle.txt")
    assert result.returncode == 0, result.stderr
    assert "SIGSEGV in checkout-api (pid 24891)" in result.stdout
    assert "mov rax, qword ptr [rax + 8]" in result.stdout
    assert "Slow the restart loop" in result.stdout


def test_json_from_stdin_matches_schema() -> None:
    result = _segbot("decode", "--json", "-", stdin=(ROOT / "examples/seed-bundle.txt").read_text())
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    jsonschema.validate(data, SCHEMA)
    assert data["signature"] == "SIGSEGV checkout-api+0x184d2"


def test_nothing_recognized_exits_1_with_one_line() -> None:
    result = _segbot("decode", "-", stdin="just some words\nnothing to see\n")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_missing_file_is_usage_error() -> None:
    result = _segbot("decode", "/nonexistent/evidence.txt")
    assert result.returncode == 2
    assert "cannot read" in result.stderr and "Traceback" not in result.stderr


def test_binary_garbage_does_not_crash(tmp_path: Path) -> None:
    blob = tmp_path / "blob"
    blob.write_bytes(bytes(range(256)) * 64)
    result = _segbot("decode", str(blob))
    assert result.returncode in {0, 1}
    assert "Traceback" not in result.stderr
