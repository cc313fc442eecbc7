"""Change use cases: taking change events in (only for configured services), and what the
change history says about an incident (binary identity, signature history, rollback target,
suspect commits, the flag service's view)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from bot.app.ports.changes import ChangeStore, FlagService, GitHistory
from bot.domain.change_history import (
    ChangeFindings,
    SuspectCommit,
    deploy_sequence,
    identify_binary,
    rank_suspects,
    signature_history,
)
from bot.domain.changes import ChangeEvent, ChangeRefused, FlagReport, checked_event
from bot.domain.evidence import BuildId, Checksum, FeatureFlag
from bot.domain.report import DecodedReport
from bot.errors import SegbotError

MAX_FRAMES = 3  # the first frames whose functions `git log -L` follows


@dataclass(frozen=True)
class ChangeDirectory:
    """Which services change events may name, and which service owns each flag."""

    services: frozenset[str]
    flag_owners: Mapping[str, str] = field(default_factory=dict)


def take_changes(*, store: ChangeStore, directory: ChangeDirectory,
                 events: Sequence[ChangeEvent], service: str | None,
                 now: datetime) -> tuple[int, int]:
    """Check every event and store them all, or none: (stored, duplicates). ChangeRefused
    for an unknown service or a field that is not plain."""
    checked = []
    for event in events:
        name = service or event.service or directory.flag_owners.get(event.flag or "", "")
        if name not in directory.services:
            raise ChangeRefused(f"unknown service {name[:64]!r}: change events are taken "
                                "only for services in the config")
        checked.append(checked_event(replace(event, service=name)))
    return store.add_changes(checked, now) if checked else (0, 0)


@dataclass(frozen=True)
class ServiceSources:
    """Where a service's history lives beyond the store: its git repository and flag service."""

    binary: str | None = None
    repo: str | None = None
    flags: FlagService | None = None
    watched_flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Subject:
    """The incident the findings are about."""

    service: str
    signature: str | None
    first_crash: datetime  # the incident's first occurrence (or its opening)


def crash_binary(report: DecodedReport | None, binary: str | None) -> tuple[list[str], list[str]]:
    """(build-ids, sha256 sums) of the binary that crashed, from the core or the host."""
    if report is None:
        return [], []
    crash = report.primary
    paths = {p for p in ((crash.executable if crash else None), binary) if p}
    ids = [c.build_id for c in ([crash] if crash else []) if c.build_id]
    ids += [f.build_id for f in report.facts if isinstance(f, BuildId) and f.path in paths]
    sums = [f.sha256 for f in report.facts if isinstance(f, Checksum) and f.path in paths]
    return list(dict.fromkeys(ids)), list(dict.fromkeys(sums))


def crash_site(report: DecodedReport | None) -> tuple[str | None, list[tuple[str, str]]]:
    """The symbolized crash file and the first frames' (function, file)."""
    crash = report.primary if report else None
    frames = [f for f in (crash.crashing_frames() if crash else ()) if f.file and f.function]
    sites = [(str(f.function), str(f.file)) for f in frames[:MAX_FRAMES]]
    return (sites[0][1] if sites else None), list(dict.fromkeys(sites))


def find_changes(*, store: ChangeStore, subject: Subject, report: DecodedReport | None,
                 sources: ServiceSources, git: GitHistory | None, now: datetime,
                 lookback: timedelta = timedelta(hours=24),
                 pulled: FlagReport | None = None) -> ChangeFindings | None:
    """The findings, or None when nothing is on record for the service (the report then
    keeps what the service's own log lines say)."""
    events = store.changes(subject.service)
    if pulled is not None:
        events = sorted({e.key: e for e in [*events, *pulled.changes]}.values(),
                        key=lambda e: e.time)
    if not events and pulled is None:
        return None
    reference = subject.first_crash
    deploys = [e for e in events if e.kind == "deploy"]
    ids, sums = crash_binary(report, sources.binary)
    crash = report.primary if report else None
    binary = identify_binary(build_ids=ids, sha256=sums, deploys=deploys,
                             host=crash.host if crash else None)
    before = _before(events, reference, lookback)
    current = (binary.deploy.version if binary and binary.deploy else None) or next(
        (e.version for e in before if e.kind == "deploy" and e.version), None)
    history = None
    rollback_to = None
    if subject.signature:
        history = signature_history(signature=subject.signature, current=current,
                                    sightings=store.sightings(subject.service), deploys=deploys)
        rollback_to = history.last_without
    if rollback_to is None and current:
        sequence = deploy_sequence([d for d in deploys if d.time <= reference])
        earlier = [v for v in sequence[:-1] if v != current] if current in sequence else []
        rollback_to = earlier[-1] if earlier else None
    suspects, notes = _suspects(git=git, sources=sources, deploys=deploys, current=current,
                                previous=rollback_to, report=report)
    return ChangeFindings(binary=binary, before=before, reference=reference, history=history,
                          rollback_to=rollback_to, suspects=suspects,
                          flags_now=pulled.states if pulled else (), notes=notes)


def watched_flags(report: DecodedReport | None, events: Sequence[ChangeEvent],
                  configured: Sequence[str]) -> list[str]:
    """The flags worth asking the flag service about: configured, changed, or logged."""
    named = [e.flag for e in events if e.kind == "flag" and e.flag]
    logged = [f.name for f in (report.facts if report else ()) if isinstance(f, FeatureFlag)]
    return list(dict.fromkeys([*configured, *named, *logged]))[:20]


def pull_flags(*, store: ChangeStore, service: str, sources: ServiceSources,
               report: DecodedReport | None, now: datetime) -> tuple[FlagReport | None, str]:
    """Ask the flag service (when configured); its changes are kept with the others.
    (report, "") or (None, why not)."""
    if sources.flags is None:
        return None, ""
    flags = watched_flags(report, store.changes(service), sources.watched_flags)
    if not flags:
        return None, "flag service: no flag to ask about yet"
    try:
        pulled = sources.flags.recent(flags, now=now)
    except SegbotError as error:
        return None, f"flag service not asked successfully: {error}"
    changes = []
    for event in pulled.changes:
        try:
            changes.append(checked_event(replace(event, service=service)))
        except ChangeRefused:
            continue  # a flag service's odd entry is skipped, as a webhook's would be refused
    if changes:
        store.add_changes(changes, now)
    return FlagReport(states=pulled.states, changes=tuple(changes)), ""


def _before(events: Sequence[ChangeEvent], reference: datetime,
            lookback: timedelta) -> tuple[ChangeEvent, ...]:
    """The newest deploy at or before `reference`, and each flag's and config's latest
    change within `lookback` of it; newest first."""
    earlier = [e for e in events if e.time <= reference]
    chosen: dict[str, ChangeEvent] = {}
    for event in earlier:  # oldest first: the latest per subject wins
        if event.kind == "deploy":
            chosen["deploy"] = event
        elif reference - event.time <= lookback:
            chosen[f"{event.kind}:{event.flag or event.version or event.key}"] = event
    return tuple(sorted(chosen.values(), key=lambda e: e.time, reverse=True))


def _suspects(*, git: GitHistory | None, sources: ServiceSources,
              deploys: Sequence[ChangeEvent], current: str | None, previous: str | None,
              report: DecodedReport | None) -> tuple[tuple[SuspectCommit, ...], tuple[str, ...]]:
    if git is None or sources.repo is None:
        return (), ()
    file, sites = crash_site(report)
    if file is None:
        return (), ("suspect commits: the crash has no symbolized file yet",)
    until = _ref_of(deploys, current)
    since = _ref_of(deploys, previous)
    if until is None or since is None:
        return (), ("suspect commits: no commit is known for "
                    f"{current if until is None else previous} (deploy events name commits)",)
    try:
        found = git.suspects(repo=sources.repo, since=since, until=until, file=file,
                             sites=sites)
    except SegbotError as error:
        return (), (f"suspect commits: {error}",)
    ranked = rank_suspects(found, [fn for fn, _ in sites])
    if not ranked:
        return (), (f"suspect commits: none of {since[:8]}..{until[:8]} touched {file}",)
    return ranked, ()


def _ref_of(deploys: Sequence[ChangeEvent], version: str | None) -> str | None:
    """The commit a version was built from (the newest deploy of it that names one)."""
    if version is None:
        return None
    named = [d.commit for d in sorted(deploys, key=lambda d: d.time)
             if d.version == version and d.commit]
    return named[-1] if named else None
