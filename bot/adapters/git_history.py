"""The GitHistory port on a local clone: `git log` (and `-L` for functions) between two validated
refs, as argv lists, with --no-ext-diff --no-textconv since the clone's config may name programs."""

from __future__ import annotations

import functools
import re
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from bot.domain.change_history import SuspectCommit
from bot.errors import ChangeSourceError

_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/+~-]{0,127}")
_FUNCTION = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
# git's -L funcname is a POSIX basic regex (GNU \| alternation), with no ':' in it: the name
# called at the start of a line or after a non-identifier character, `name (` or `name(`.
_DEFINITION = r"\(^\|[^A-Za-z0-9_]\){name} *("
_MARK = "\x1e"  # starts each commit line of our --format; never in a diff line
_FORMAT = f"--format={_MARK}%H%x1f%an%x1f%at%x1f%s"


class GitRepository:
    def __init__(self, *, git: str = "git", timeout: float = 20.0,
                 max_commits: int = 200) -> None:
        self.git, self.timeout, self.max_commits = git, timeout, max_commits

    def suspects(self, *, repo: str, since: str, until: str, file: str,
                 sites: Sequence[tuple[str, str]]) -> list[SuspectCommit]:
        return list(self._suspects(repo, since, until, file, tuple(sites)))

    @functools.lru_cache(maxsize=256)  # noqa: B019 - one adapter per process; keys are small
    def _suspects(self, repo: str, since: str, until: str, file: str,
                  sites: tuple[tuple[str, str], ...]) -> tuple[SuspectCommit, ...]:
        if not Path(repo).is_absolute() or not Path(repo).is_dir():
            raise ChangeSourceError(f"git: {repo} is not a directory")
        start, end = self._commit(repo, since), self._commit(repo, until)
        files = self._run(repo, "ls-tree", "-r", "-z", "--name-only", end, "--").split("\0")
        path = _in_tree(file, files)
        if path is None:
            raise ChangeSourceError(f"git: no file like {file} in {until[:12]}")
        found = _commits(self._run(
            repo, "log", "--no-merges", f"-n{self.max_commits}", _FORMAT, f"{start}..{end}",
            "--", path), file=path)
        for function, where in sites:
            name = function.rsplit("::", 1)[-1]
            site = _in_tree(where, files)
            if site is None or not _FUNCTION.fullmatch(name):
                continue
            try:  # -L needs the function to exist at `end`; when it does not, skip it
                text = self._run(repo, "log", "--no-merges", "--no-ext-diff", "--no-textconv",
                                 f"-n{self.max_commits}", _FORMAT,
                                 f"-L:{_DEFINITION.format(name=name)}:{site}", f"{start}..{end}")
            except ChangeSourceError:
                continue
            found += _commits(text, file=path if site == path else None, functions=(function,))
        return tuple(found)

    def _commit(self, repo: str, ref: str) -> str:
        if not _REF.fullmatch(ref) or ".." in ref or ref.endswith((".lock", "/", ".")):
            raise ChangeSourceError(f"git: {ref[:80]!r} is not a plain ref")
        return self._run(repo, "rev-parse", "--verify", "--quiet", "--end-of-options",
                         f"{ref}^{{commit}}").strip()

    def _run(self, repo: str, *argv: str) -> str:
        command = [self.git, "-C", repo, "-c", f"safe.directory={repo}", "-c",
                   "core.fsmonitor=false", *argv]
        try:
            done = subprocess.run(command, capture_output=True, timeout=self.timeout,
                                  check=False, env={"GIT_TERMINAL_PROMPT": "0",
                                                    "GIT_CONFIG_NOSYSTEM": "1",
                                                    "PATH": "/usr/bin:/bin", "LC_ALL": "C"})
        except (OSError, subprocess.TimeoutExpired) as error:
            raise ChangeSourceError(f"git {argv[0]} in {repo}: {error}") from None
        if done.returncode != 0:
            reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise ChangeSourceError(f"git {argv[0]} in {repo} failed: "
                                    f"{reason[0][:200] if reason else done.returncode}")
        return done.stdout.decode("utf-8", "replace")


def _in_tree(file: str, tree: Sequence[str]) -> str | None:
    """The tracked path the symbolized `file` names: the one sharing the longest tail of
    path components (debug info often records a build machine's absolute path)."""
    wanted = PurePosixPath(file).parts
    best, score = None, 0
    for path in tree:
        parts = PurePosixPath(path).parts if path else ()
        shared = 0
        while shared < min(len(parts), len(wanted)) and parts[-1 - shared] == wanted[-1 - shared]:
            shared += 1
        if shared > score:
            best, score = path, shared
    return best


def _commits(text: str, *, file: str | None,
             functions: tuple[str, ...] = ()) -> list[SuspectCommit]:
    """The commits `git log --format=_FORMAT` printed, each saying what it touched."""
    found = []
    for line in text.split("\n"):  # not splitlines(): it splits on \x1e and \x1f too
        if not line.startswith(_MARK):
            continue
        fields = line[1:].split("\x1f")
        if len(fields) == 4 and fields[2].isdigit():
            found.append(SuspectCommit(
                commit=fields[0], author=fields[1],
                time=datetime.fromtimestamp(int(fields[2]), UTC), subject=fields[3],
                file=file, functions=functions))
    return found
