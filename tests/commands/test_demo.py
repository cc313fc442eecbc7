"""`segbot demo` on this machine: the whole pipeline, as a newcomer runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_demo_runs_to_a_postmortem_and_cleans_up(tmp_path: Path) -> None:
    if shutil.which("gdb") is None:
        pytest.skip("the demo's backtrace step needs gdb")
    postmortem = tmp_path / "pm.md"
    scratch = tmp_path / "tmp"  # the demo's own temporary directory, to see it cleaned up
    scratch.mkdir()
    result = subprocess.run([sys.executable, "-m", "bot", "demo", "-o", str(postmortem)],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path,
                            check=False, env={**os.environ, "TMPDIR": str(scratch)})
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "crash-looping under Restart=always, RestartSec=200ms" in out
    assert "SIGSEGV in checkout-api" in out and "null deref" in out
    assert "signature SIGSEGV pricing_rule_apply" in out
    assert "#0 pricing_rule_apply inlined at" in out
    assert "Slow the restart loop" in out  # the button, as Slack would show it
    assert "Slow the restart loop: succeeded" in out  # the same message after the click
    text = postmortem.read_text()
    assert text.startswith("# Postmortem draft: checkout-api: SIGSEGV (SIGSEGV pricing_rule_")
    assert "restart delay set to 2s" in text
    assert "- [ ] Harden restart behavior" in text
    verified = next(line for line in out.splitlines() if "verified:" in line)
    after = int(verified.split("verified: ")[1].split(" ")[0])
    crashed_before = int(verified.split(", ")[1].split(" ")[0])
    assert crashed_before >= 3 and after <= 2, verified
    # The postmortem counts what the host saw: every crash, the action's before/after, the
    # version the diagnosis found running (the demo's alerts carry none).
    [row] = [r for r in text.splitlines() if r.startswith("| ") and "restart delay set" in r]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert int(cells[3]) == crashed_before and int(cells[4]) >= after, row
    assert "| Versions | 2.18.7 |" in text
    occurrences = int(text.split("| Occurrences | ")[1].split(" ")[0])
    assert occurrences == int(cells[3]) + int(cells[4]), (occurrences, row)
    assert list(scratch.iterdir()) == []


def test_shipped_binary_matches_the_source() -> None:
    """The fallback for machines without a compiler is the same program, with symbols."""
    shipped = ROOT / "bot/data/demo/checkout-api.x86_64"
    strings = shipped.read_bytes().decode("latin-1")
    assert "feature_flags=pricing_v4:%s" in strings
    assert "pricing_rule_apply" in strings  # DWARF names the inlined function
