"""`contain`: the containment use case on this test's database, engines disposed after."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.actions.actions_setup import TOKEN_ENV, containment


@pytest.fixture
def contain(database_url: str) -> Iterator[object]:
    """containment(config, environ=...) on this test's database; engines disposed after."""
    made: list[object] = []

    def make(config: object, *, environ: object = TOKEN_ENV) -> object:
        result = containment(database_url, config, environ=environ)  # type: ignore[arg-type]
        made.append(result[1])
        return result

    yield make
    for store in made:
        store.engine.dispose()  # type: ignore[attr-defined]
