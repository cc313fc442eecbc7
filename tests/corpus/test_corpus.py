"""Every published crash text in tests/corpus/cases decodes to the values checked by hand."""

from __future__ import annotations

import pytest

from tests.corpus.score import CASES, load_cases, score_case

_CASES = load_cases()


@pytest.mark.parametrize("case", _CASES, ids=[c.name for c in _CASES])
def test_published_crash_text(case) -> None:  # type: ignore[no-untyped-def]
    score = score_case(case)
    assert score.exact, f"{case.source}\n" + "\n".join(score.misses)


def test_corpus_is_large_and_sourced() -> None:
    assert len(_CASES) >= 60
    assert all(c.source.startswith("https://") for c in _CASES)
    assert len(list(CASES.glob("*.txt"))) == len(_CASES)
