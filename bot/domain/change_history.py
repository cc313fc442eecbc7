"""What change history says about a crash: which release the crashing binary is (by
build-id or sha256), whether the signature is new in it or seen before, the last version
without it (the rollback target), and the commits most likely to blame."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.domain.changes import ChangeEvent


@dataclass(frozen=True)
class Sighting:
    """Crashes of one signature in one version (or build) of a service, from the store."""

    signature: str
    version: str | None
    build_id: str | None
    first_seen: datetime
    last_seen: datetime
    count: int


@dataclass(frozen=True)
class SuspectCommit:
    commit: str
    author: str
    time: datetime
    subject: str
    file: str | None = None  # the crash file, when the commit touched it
    functions: tuple[str, ...] = ()  # crash-frame functions whose lines it changed
    score: float = 0.0

    def describe(self) -> str:
        touched = ", ".join([*(f"{f}()" for f in self.functions), *(
            [self.file] if self.file and not self.functions else [])])
        return (f"{self.commit[:10]} {self.subject} — {self.author}, "
                f"{self.time:%Y-%m-%d %H:%M}" + (f" (touched {touched})" if touched else ""))


@dataclass(frozen=True)
class BinaryIdentity:
    build_id: str | None
    sha256: str | None
    deploy: ChangeEvent | None  # the deploy that shipped this binary
    shipped_ids_known: bool  # some deploy of the service names its build-ids or sha256
    newer: ChangeEvent | None = None  # a later deploy to this host that it is not running

    def describe(self) -> str:
        ident = (f"build-id {self.build_id[:16]}…" if self.build_id
                 else f"sha256 {(self.sha256 or '?')[:16]}…")
        deploy = self.deploy
        if deploy is not None:
            text = f"the crashing binary is {deploy.version or deploy.commit or '?'}, deployed " \
                   f"{deploy.time:%Y-%m-%d %H:%M} UTC"
            text += f" by {deploy.by}" if deploy.by else ""
            text += f" (commit {deploy.commit[:8]})" if deploy.commit else ""
            text += f": {ident} matches that release"
            if self.newer is not None:
                text += (f"; {self.newer.version or 'a newer release'} was deployed "
                         f"{self.newer.time:%Y-%m-%d %H:%M} UTC but this host still runs the "
                         "older binary (drift)")
            return text
        if self.shipped_ids_known:
            return (f"the crashing binary ({ident}) was shipped by no known deploy: drift or a "
                    "hand-copied build")
        return f"no deploy event names build-ids, so the crashing binary ({ident}) cannot be " \
               "tied to a release"


def identify_binary(*, build_ids: Sequence[str], sha256: Sequence[str],
                    deploys: Sequence[ChangeEvent],
                    host: str | None = None) -> BinaryIdentity | None:
    """The newest deploy that shipped one of these build-ids or sha256 sums, and a later
    deploy of another binary to `host` (or to every host) that it is not running."""
    ids = {b.lower() for b in build_ids if b}
    sums = {s.lower() for s in sha256 if s}
    if not ids and not sums:
        return None
    shipped = [d for d in deploys if d.kind == "deploy"]
    matches = [d for d in shipped if ids & set(d.build_ids) or sums & set(d.sha256)]
    match = max(matches, key=lambda d: d.time, default=None)
    known = any(d.build_ids or d.sha256 for d in shipped)
    later = [d for d in shipped if match is not None and d.time > match.time
             and (d.build_ids or d.sha256) and d not in matches
             and (not d.hosts or (host is not None and host in d.hosts))]
    return BinaryIdentity(build_id=min(ids) if ids else None,
                          sha256=min(sums) if sums else None, deploy=match,
                          shipped_ids_known=known,
                          newer=max(later, key=lambda d: d.time) if later else None)


@dataclass(frozen=True)
class SignatureHistory:
    signature: str
    current: str | None  # the version crashing now
    seen_in: tuple[str, ...]  # versions with this signature, in deploy order
    first_version: str | None  # the first deployed version that showed it
    last_without: str | None  # the version deployed just before that one

    @property
    def regression(self) -> bool:
        return any(v != self.current for v in self.seen_in)

    def describe(self) -> str:
        earlier = [v for v in self.seen_in if v != self.current]
        if earlier:
            text = f"seen before in {', '.join(earlier[-5:])}: not new in {self.current or '?'}"
        elif self.current:
            text = f"new in {self.current}: not seen in any earlier version on record"
        else:
            text = "first seen now; the crashing version is not known"
        if self.last_without:
            text += f"; the last version without it is {self.last_without}"
        return text


def deploy_sequence(deploys: Sequence[ChangeEvent]) -> tuple[str, ...]:
    """Versions in the order they were deployed (a re-deploy of the same version is one)."""
    versions: list[str] = []
    for event in sorted((d for d in deploys if d.kind == "deploy" and d.version),
                        key=lambda d: d.time):
        assert event.version is not None
        if not versions or versions[-1] != event.version:
            versions.append(event.version)
    return tuple(versions)


def signature_history(*, signature: str, current: str | None, sightings: Sequence[Sighting],
                      deploys: Sequence[ChangeEvent]) -> SignatureHistory:
    """Where `signature` appeared in the deploy history, and the last version before it."""
    by_build = {b: d.version for d in deploys if d.version for b in d.build_ids}
    seen = {s.version or by_build.get(s.build_id or "") for s in sightings
            if s.signature == signature}
    seen.discard(None)
    if current:
        seen.add(current)
    sequence = deploy_sequence(deploys)
    first = next((n for n, v in enumerate(sequence) if v in seen), None)
    # Walk back from the crashing version (or the signature's first one) past every version
    # that showed it: a regression rolls back to the release before this run of it.
    start = (max(n for n, v in enumerate(sequence) if v == current)
             if current in sequence else first)
    last_without = next((v for v in reversed(sequence[:start]) if v not in seen), None) \
        if start is not None else None
    ordered = [v for v in dict.fromkeys(sequence) if v in seen]
    ordered += sorted(str(v) for v in seen if v not in sequence)
    return SignatureHistory(signature=signature, current=current, seen_in=tuple(ordered),
                            first_version=sequence[first] if first is not None else None,
                            last_without=last_without)


def rank_suspects(found: Sequence[SuspectCommit],
                  functions: Sequence[str]) -> tuple[SuspectCommit, ...]:
    """One entry per commit, the likeliest first: a commit that changed the innermost
    frame's function outranks one that changed a caller, which outranks one that only
    touched the crash file; newer first among equals."""
    merged: dict[str, SuspectCommit] = {}
    for commit in found:
        seen = merged.get(commit.commit)
        if seen is not None:
            commit = SuspectCommit(
                seen.commit, seen.author, seen.time, seen.subject, seen.file or commit.file,
                tuple(dict.fromkeys(seen.functions + commit.functions)))
        merged[commit.commit] = commit
    ranked = []
    for commit in merged.values():
        score = sum(10.0 / (1 + functions.index(f)) for f in commit.functions
                    if f in functions) + (1.0 if commit.file else 0.0)
        ranked.append(SuspectCommit(commit.commit, commit.author, commit.time, commit.subject,
                                    commit.file, commit.functions, score))
    return tuple(sorted(ranked, key=lambda c: (-c.score, -c.time.timestamp(), c.commit)))


@dataclass(frozen=True)
class ChangeFindings:
    """Everything change history adds to an incident's report."""

    binary: BinaryIdentity | None
    before: tuple[ChangeEvent, ...]  # change events before the first crash, newest first
    reference: datetime  # the first crash (or the incident's opening) they are counted from
    history: SignatureHistory | None
    rollback_to: str | None
    suspects: tuple[SuspectCommit, ...] = ()
    flags_now: tuple[ChangeEvent, ...] = ()  # pulled from the flag service
    notes: tuple[str, ...] = ()  # what could not be looked at, and why

    def lines(self) -> tuple[str, ...]:
        out: list[str] = []
        if self.binary is not None:
            out.append(self.binary.describe())
        for event in self.before[:8]:
            minutes = (self.reference - event.time).total_seconds() / 60
            out.append(f"{event.describe()} at {event.time:%H:%M:%S} UTC, {minutes:.1f} min "
                       f"before the first crash ({event.source})")
        out += [f"{e.describe()} (flag service, as of {e.time:%H:%M:%S})"
                for e in self.flags_now[:5]]
        if self.history is not None:
            out.append(f"signature {self.history.describe()}")
        if self.rollback_to:
            out.append(f"roll back to {self.rollback_to}: the last version without this "
                       "signature")
        out += [f"suspect commit {n}: {c.describe()}" for n, c in
                enumerate(self.suspects[:5], start=1)]
        return tuple(out) + self.notes
