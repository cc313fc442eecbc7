"""A real git repository built for the tests: checkout_api.c across releases 2.18.6 and
2.18.7, with commits by different authors touching the crash function, a caller, and docs."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

BEFORE = """#include <stdio.h>

struct order { int total; int *discount; };

static int price_v4(const struct order *o)
{
    return o->total;
}

int main(void)
{
    struct order o = {42, 0};
    printf("%d\\n", price_v4(&o));
    return 0;
}
"""


@dataclass(frozen=True)
class Repo:
    path: Path
    commits: dict[str, str]  # name -> sha


def git(path: Path, *argv: str, author: str = "Ops Bot", when: str = "2026-01-20T10:00:00Z",
        ) -> str:
    env = {"GIT_AUTHOR_NAME": author, "GIT_AUTHOR_EMAIL": "x@example.org",
           "GIT_COMMITTER_NAME": author, "GIT_COMMITTER_EMAIL": "x@example.org",
           "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when, "PATH": "/usr/bin:/bin",
           "HOME": str(path), "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", "-C", str(path), *argv], env=env, check=True,
                          capture_output=True, text=True).stdout.strip()


def build_repo(path: Path) -> Repo:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    source = path / "src" / "checkout_api.c"
    source.parent.mkdir()
    commits: dict[str, str] = {}

    def commit(name: str, author: str, when: str, message: str) -> None:
        git(path, "add", "-A")
        git(path, "commit", "-q", "-m", message, author=author, when=when)
        commits[name] = git(path, "rev-parse", "HEAD")

    source.write_text(BEFORE)
    (path / "README.md").write_text("checkout-api\n")
    commit("release_2_18_6", "Ops Bot", "2026-01-20T10:00:00Z", "release 2.18.6")
    git(path, "tag", "v2.18.6")
    source.write_text(BEFORE.replace("    return o->total;",
                                     "    return o->total - *o->discount;"))
    commit("pricing", "Carol Coder", "2026-01-21T09:00:00Z",
           "pricing: apply the v4 discount")
    (path / "README.md").write_text("checkout-api\n\nPricing v4 is behind a flag.\n")
    commit("docs", "Dan Docs", "2026-01-21T10:00:00Z", "docs: mention pricing_v4")
    source.write_text(source.read_text().replace("struct order o = {42, 0};",
                                                 "struct order o = {42, NULL};"))
    commit("caller", "Erin Edit", "2026-01-21T11:00:00Z", "main: spell NULL as NULL")
    git(path, "tag", "v2.18.7")
    return Repo(path, commits)
