"""The schema copies the tests validate against are the shared contracts, byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "schemas"


@pytest.mark.parametrize("name", ["decoded-evidence.schema.json", "symbolized.schema.json"])
def test_schema_copy_matches_shared(name: str) -> None:
    if not SHARED.exists():
        pytest.skip("no ../shared/schemas beside this checkout")
    assert (HERE / "schemas" / name).read_bytes() == (SHARED / name).read_bytes()
