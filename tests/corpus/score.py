"""Scores `decode_text` against the published crash texts in tests/corpus/cases/.

Each case is `<name>.txt` (the excerpt, byte for byte as published) and `<name>.json`
({"source": url, "kinds": [...], "arch": ..., "expect": [{field: value}, ...]}), one expected
object per crash, with values checked by hand. `python -m tests.corpus.score` prints the totals.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.domain.crash import Crash
from bot.domain.decode import decode_text
from bot.domain.report_json import hex_or_none
from bot.domain.signature import crash_frame

CASES = Path(__file__).resolve().parent / "cases"
# As `segbot decode` reads a paste: stamps without a year take the current one.
NOW = datetime(2026, 6, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Case:
    name: str
    source: str
    text: str
    expect: list[dict[str, Any]]


@dataclass(frozen=True)
class Score:
    fields: int
    right: int
    misses: tuple[str, ...]

    @property
    def exact(self) -> bool:
        return self.fields == self.right


def load_cases() -> list[Case]:
    cases = []
    for meta_path in sorted(CASES.glob("*.json")):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        text = meta_path.with_suffix(".txt").read_bytes().decode("utf-8")
        cases.append(Case(meta_path.stem, meta["source"], text, meta["expect"]))
    return cases


def observed(crash: Crash) -> dict[str, Any]:
    """The fields a case can name, as the JSON report writes them."""
    frame = crash_frame(crash)
    return {
        "signal": crash.signal,
        "pid": crash.pid,
        "process": crash.process,
        "executable": crash.executable,
        "unit": crash.unit,
        "ip": hex_or_none(crash.ip),
        "fault_address": hex_or_none(crash.fault_address),
        "module": crash.module,
        "module_offset": hex_or_none(crash.module_offset),
        "file_offset": hex_or_none(crash.file_offset),
        "crashing_thread": crash.crashing_thread,
        "function": frame.function if frame else None,
    }


def score_case(case: Case) -> Score:
    """One point per expected field of each crash, plus one for the number of crashes."""
    crashes = [observed(c) for c in decode_text(case.text, now=NOW).crashes]
    fields = 1 + sum(len(e) for e in case.expect)
    misses: list[str] = []
    if len(crashes) != len(case.expect):
        misses.append(f"crashes: expected {len(case.expect)}, got {len(crashes)}")
    unused = list(range(len(crashes)))
    for number, expected in enumerate(case.expect):
        best = max(unused, key=lambda i: _agreeing(expected, crashes[i]), default=None)
        got = crashes[best] if best is not None else {}
        if best is not None:
            unused.remove(best)
        misses.extend(f"crash {number} {key}: expected {value!r}, got {got.get(key)!r}"
                      for key, value in expected.items() if got.get(key) != value)
    wrong = len(misses)
    return Score(fields=fields, right=fields - wrong, misses=tuple(misses))


def _agreeing(expected: dict[str, Any], got: dict[str, Any]) -> int:
    return sum(1 for key, value in expected.items() if got.get(key) == value)


def main() -> int:
    cases = load_cases()
    exact = fields = right = 0
    for case in cases:
        score = score_case(case)
        exact += score.exact
        fields += score.fields
        right += score.right
        if not score.exact and "-v" in sys.argv:
            print(f"{case.name}: " + "; ".join(score.misses))
    print(f"{exact} of {len(cases)} cases exact, {right} of {fields} fields right "
          f"({100 * right / fields:.1f}%)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
