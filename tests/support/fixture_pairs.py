"""Fixture pairs: `tests/fixtures/<parser>/<case>.out` (recorded output) and `<case>.json`
(what decoding it must yield). Expected JSON is a subset: every key it names must match."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@dataclass(frozen=True)
class FixturePair:
    parser: str
    name: str
    output: str
    expected: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.parser}/{self.name}"


def fixture_pairs() -> list[FixturePair]:
    pairs = []
    for out in sorted(FIXTURES.glob("*/*.out")):
        expected = json.loads(out.with_suffix(".json").read_text())
        pairs.append(FixturePair(out.parent.name, out.stem, out.read_text(), expected))
    return pairs


def assert_subset(expected: Any, actual: Any, path: str = "$") -> None:
    """Every key in `expected` is in `actual` with a matching value; lists match item by item."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected an object, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{path}.{key} missing in {sorted(actual)}"
            assert_subset(value, actual[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{path}: expected a list, got {actual!r}"
        assert len(actual) >= len(expected), f"{path}: {len(actual)} items, want {len(expected)}"
        for index, item in enumerate(expected):
            assert_subset(item, actual[index], f"{path}[{index}]")
    else:
        assert expected == actual, f"{path}: expected {expected!r}, got {actual!r}"


def assert_fact_present(expected: dict[str, Any], facts: list[dict[str, Any]]) -> None:
    for fact in facts:
        try:
            assert_subset(expected, fact)
        except AssertionError:
            continue
        return
    raise AssertionError(f"no fact matches {expected}; facts: {facts}")
