"""The containment tests reuse the Slack harness (tests/slack) and the deploy helpers
(tests/deploy) by their directories, as the rest of the suite does."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
for helper_dir in (TESTS / "slack", TESTS / "deploy", Path(__file__).resolve().parent):
    if str(helper_dir) not in sys.path:
        sys.path.insert(0, str(helper_dir))


from collections.abc import Iterator  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture
def local_setup(tmp_path: Path) -> Iterator[tuple[object, object, Path]]:
    """As tests/slack's: the playbook's commands really run here with recorded crash tools."""
    from slack_harness import local_diagnosis

    with local_diagnosis(tmp_path) as found:
        yield found


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database on each backend the store supports (as tests/store)."""
    from store.databases import fresh_database

    yield from fresh_database(request.param, tmp_path)


@pytest.fixture
def contain(database_url: str) -> Iterator[object]:
    """containment(config, environ=...) on this test's database; engines disposed after."""
    from actions_setup import TOKEN_ENV, containment

    made: list[object] = []

    def make(config: object, *, environ: object = TOKEN_ENV) -> object:
        result = containment(database_url, config, environ=environ)  # type: ignore[arg-type]
        made.append(result[1])
        return result

    yield make
    for store in made:
        store.engine.dispose()  # type: ignore[attr-defined]
