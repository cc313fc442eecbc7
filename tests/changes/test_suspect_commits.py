"""Suspect commits from a real git repository: the commits between two releases that touched
the symbolized crash file and the first frames' functions, ranked; refs that are not plain
are refused before git sees them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.adapters.git_history import GitRepository
from bot.domain.change_history import rank_suspects
from bot.errors import ChangeSourceError
from tests.changes.git_repo import build_repo, git


def test_commits_that_touched_the_crash_function_rank_first(tmp_path: Path) -> None:
    repo = build_repo(tmp_path / "checkout")
    found = GitRepository().suspects(
        repo=str(repo.path), since=repo.commits["release_2_18_6"], until="v2.18.7",
        file="/build/checkout-api/src/checkout_api.c",
        sites=[("price_v4", "/build/checkout-api/src/checkout_api.c"),
               ("main", "checkout_api.c")])
    ranked = rank_suspects(found, ["price_v4", "main"])
    assert [c.commit for c in ranked] == [repo.commits["pricing"], repo.commits["caller"]]
    top = ranked[0]
    assert (top.author, top.subject, top.file, top.functions) == (
        "Carol Coder", "pricing: apply the v4 discount", "src/checkout_api.c", ("price_v4",))
    assert top.time == datetime(2026, 1, 21, 9, 0, tzinfo=UTC)
    assert ranked[1].functions == ("main",) and ranked[0].score > ranked[1].score
    assert "pricing: apply the v4 discount — Carol Coder" in top.describe()
    # the docs commit touched neither the file nor a function
    assert repo.commits["docs"] not in {c.commit for c in found}


def test_only_the_file_when_the_function_cannot_be_followed(tmp_path: Path) -> None:
    repo = build_repo(tmp_path / "checkout")
    found = GitRepository().suspects(
        repo=str(repo.path), since="v2.18.6", until="v2.18.7", file="checkout_api.c",
        sites=[("no_such_function", "checkout_api.c"), ("operator<", "checkout_api.c")])
    ranked = rank_suspects(found, ["no_such_function"])
    assert [c.commit for c in ranked] == [repo.commits["caller"], repo.commits["pricing"]]
    assert all(c.functions == () and c.file == "src/checkout_api.c" for c in ranked)


@pytest.mark.parametrize("ref", ["--output=/tmp/pwned", "v2.18.6..v2.18.7", "HEAD;id",
                                 "$(id)", "", "a" * 200, "refs/heads/", "-n1"])
def test_refs_that_are_not_plain_are_refused(tmp_path: Path, ref: str) -> None:
    repo = build_repo(tmp_path / "checkout")
    with pytest.raises(ChangeSourceError, match="not a plain ref"):
        GitRepository().suspects(repo=str(repo.path), since=ref, until="v2.18.7",
                                 file="checkout_api.c", sites=[])
    assert not Path("/tmp/pwned").exists()


def test_unknown_refs_and_repositories_are_errors(tmp_path: Path) -> None:
    repo = build_repo(tmp_path / "checkout")
    with pytest.raises(ChangeSourceError, match="rev-parse"):
        GitRepository().suspects(repo=str(repo.path), since="v9.9.9", until="v2.18.7",
                                 file="checkout_api.c", sites=[])
    with pytest.raises(ChangeSourceError, match="not a directory"):
        GitRepository().suspects(repo=str(tmp_path / "nothing"), since="v2.18.6",
                                 until="v2.18.7", file="checkout_api.c", sites=[])
    with pytest.raises(ChangeSourceError, match="no file like"):
        GitRepository().suspects(repo=str(repo.path), since="v2.18.6", until="v2.18.7",
                                 file="elsewhere.rs", sites=[])
    assert git(repo.path, "status", "--porcelain") == ""
