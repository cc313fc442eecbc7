"""Every published crash text in tests/corpus/cases decodes to the values checked by hand, and
its JSON report is what the schema promises."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from bot.domain.decode import decode_text
from bot.domain.report_json import report_to_dict
from tests.corpus.score import CASES, NOW, Case, load_cases, score_case

_CASES = load_cases()
_SCHEMA = json.loads(
    (Path(__file__).resolve().parents[1] / "schemas" / "decoded-evidence.schema.json").read_text()
)


@pytest.mark.parametrize("case", _CASES, ids=[c.name for c in _CASES])
def test_published_crash_text(case: Case) -> None:
    score = score_case(case)
    assert score.exact, f"{case.source}\n" + "\n".join(score.misses)
    jsonschema.validate(report_to_dict(decode_text(case.text, now=NOW)), _SCHEMA)


def test_corpus_is_large_sourced_and_covers_both_architectures() -> None:
    assert len(_CASES) >= 60
    assert all(c.source.startswith("https://") for c in _CASES)
    assert len(list(CASES.glob("*.txt"))) == len(_CASES)
    arches = {json.loads(p.read_text())["arch"] for p in CASES.glob("*.json")}
    assert {"x86-64", "aarch64"} <= arches
