"""The postmortem draft: what happened, when, what was done and what to change, from the
incident's record and decoded reports; action items are the operations playbook's checklists
for the factors segbot observed."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from statistics import mean, median, pstdev
from typing import Any

from bot.domain.incident import IncidentDetail, TimelineEvent


@dataclass(frozen=True)
class Factor:
    key: str
    text: str


@dataclass(frozen=True)
class ActionItem:
    text: str
    because: str  # the factor key it answers


@dataclass(frozen=True)
class ActionEffect:
    """One action and what it changed: crashes in the window before and after it, and the
    verification segbot recorded for it (if any)."""

    event: TimelineEvent
    before: int | None  # None: crash times not known
    after: int | None
    window_minutes: int
    verification: str | None


@dataclass(frozen=True)
class Postmortem:
    incident_id: int
    title: str
    summary: str
    status: str
    first_crash: datetime | None
    last_crash: datetime | None
    occurrences: int
    hosts: tuple[str, ...]
    versions: tuple[str, ...]
    signature: str | None
    classification: str | None
    crash_site: tuple[str, ...]  # frames of the crashing thread, rendered
    evidence: tuple[str, ...]
    timeline: tuple[TimelineEvent, ...]
    actions: tuple[TimelineEvent, ...]
    factors: tuple[Factor, ...]
    action_items: tuple[ActionItem, ...]
    effects: tuple[ActionEffect, ...] = ()
    changes: tuple[str, ...] = ()  # what change history concluded: release, rollback, suspects


# Factor -> the operations playbook's fix for it (its checklists and "common mistakes" table).
_ITEMS: dict[str, tuple[str, ...]] = {
    "restart_storm": (
        "Harden restart behavior: RestartSec of seconds, StartLimitIntervalSec/StartLimitBurst "
        "to cap flapping, so one bad pointer cannot become a load test on every dependency.",
    ),
    "core_limit_zero": (
        "Make cores non-negotiable: LimitCORE=infinity on the unit, and test core dumping "
        "intentionally in staging.",
    ),
    "core_size_cap": (
        "Raise systemd-coredump's ProcessSizeMax/ExternalSizeMax above the service's peak "
        "RSS so cores are not cut or dropped.",
    ),
    "disk_nearly_full": (
        "Ensure storage space where cores and logs land (alert on it; route cores to a larger "
        "filesystem), so evidence survives the next crash.",
    ),
    "no_symbols": (
        "Always ship build IDs and symbols: publish debug files keyed by build-id (debuginfod) "
        "and make symbol retrieval boring and automated.",
    ),
    "feature_flag": (
        "Keep feature flags for risky code paths; keep this flag off until the fix ships, add "
        "input validation, fuzzing for that parser and contract tests for upstream inputs.",
    ),
    "deploy": (
        "Patch safely: add a test for the trigger, canary, roll out gradually, and validate "
        "crash-free time before the full deploy.",
    ),
    "null-deref": (
        "Add the explicit NULL check, and fix the invariant: why was that pointer allowed to "
        "be NULL? Add tests for missing and invalid inputs.",
    ),
    "memory-corruption-suspected": (
        "Reproduce under ASan/UBSan; use sanitizers in CI for this component; reduce "
        "concurrency to narrow timing windows.",
    ),
    "oom_kill": ("Treat memory pressure first: the segfault may be corruption under stress.",),
    "retries_without_jitter": (
        "Define idempotency and retries: bound them and add jitter (\"retry everything\" is "
        "how you DDoS yourself); a fixed-interval restart hits every dependency in lockstep.",
    ),
}
EFFECT_WINDOW = timedelta(minutes=10)


def _done(event: TimelineEvent) -> bool:
    """An action actually carried out (not bookkeeping such as a scheduled verification or
    a rollback waiting for its second approver)."""
    return event.kind in ("action", "containment") and not event.text.startswith(
        ("verification scheduled", "second approval")) and "waiting for a second" not in \
        event.text


def draft_postmortem(detail: IncidentDetail,
                     crashes: Sequence[tuple[str, datetime]] = ()) -> Postmortem:
    """The draft; `crashes` (host, crash time) of every occurrence, when the caller has them,
    tell what each action changed and whether crashes recurred at a fixed interval."""
    incident = detail.incident
    reports = [_load(body) for _, body in detail.reports]
    report = next((r for r in reversed(reports) if r.get("crashes")), reports[-1] if reports
                  else {})
    crash = _primary(report)
    firsts = [c.first_seen for c in detail.by_host_version]
    lasts = [c.last_seen for c in detail.by_host_version]
    versions = tuple(sorted({c.version for c in detail.by_host_version if c.version}))
    if not versions:  # alerts without a version label: the one the diagnosis found running
        versions = tuple(sorted({c["name"] for r in reports for c in r.get("changes") or ()
                                 if isinstance(c, dict) and c.get("kind") == "deploy"
                                 and isinstance(c.get("name"), str)}))
    factors = _factors(reports) + _rhythm(crashes)
    items = tuple(ActionItem(text, factor.key) for factor in factors
                  for text in _ITEMS.get(factor.key, ()))
    actions = tuple(e for e in detail.timeline
                    if e.kind.startswith(("action", "containment", "verification"))
                    and not e.text.startswith("verification scheduled"))
    classification = (report.get("classification") or {}).get("kind")
    signal = (crash or {}).get("signal") or "crash"
    title = f"{incident.service}: {signal} ({incident.signature or 'signature unknown'})"
    first = min(firsts) if firsts else incident.opened_at
    last = max(lasts) if lasts else incident.last_seen
    summary = (f"{incident.service} crashed {incident.occurrences} time(s) on "
               f"{len(incident.hosts)} host(s) between {_clock(first)} and {_clock(last)}"
               + (f", classified as {classification.replace('-', ' ')}" if classification else "")
               + f". Status: {incident.status.value}.")
    return Postmortem(
        incident_id=incident.id, title=title, summary=summary, status=incident.status.value,
        first_crash=first, last_crash=last, occurrences=incident.occurrences,
        hosts=incident.hosts, versions=versions, signature=incident.signature,
        classification=classification, crash_site=_frames(crash),
        evidence=tuple((report.get("classification") or {}).get("evidence") or ()),
        timeline=detail.timeline, actions=actions, factors=factors, action_items=items,
        effects=_effects(detail.timeline, [t for _, t in crashes] if crashes else None),
        changes=tuple(e.text for e in detail.timeline if e.kind == "changes"))


def _effects(timeline: Sequence[TimelineEvent],
             crashes: Sequence[datetime] | None) -> tuple[ActionEffect, ...]:
    done = [(n, e) for n, e in enumerate(timeline) if _done(e)]
    effects = []
    used: set[str] = set()
    for position, event in done:
        before = after = None
        if crashes is not None:
            before = sum(1 for t in crashes if event.time - EFFECT_WINDOW <= t < event.time)
            after = sum(1 for t in crashes if event.time <= t < event.time + EFFECT_WINDOW)
        verification = next((e.text for e in timeline[position + 1:]
                             if e.kind.startswith("verification") and e.text not in used
                             and _verifies(e.text, event.text)), None)
        if verification is not None:
            used.add(verification)
        effects.append(ActionEffect(event, before, after,
                                    int(EFFECT_WINDOW.total_seconds() // 60), verification))
    return tuple(effects)


# A verification says "... since the rollback" (bot.domain.containment.verdict): which actions'
# lines that phrase belongs to.
_SINCE = {"restart delay": ("restart delay", "restart_delay", "restart loop"),
          "rollback": ("rollback", "roll back", "rolled back"), "flag": ("flag",)}


def _verifies(verification: str, action: str) -> bool:
    phrase = verification.rpartition(" since ")[2].lower()
    words = next((v for k, v in _SINCE.items() if k in phrase), None)
    return words is None or any(w in action.lower() for w in words)


def _rhythm(crashes: Sequence[tuple[str, datetime]]) -> tuple[Factor, ...]:
    """Crashes of one host recurring at a near-constant interval: retries (or restarts)
    without jitter. At least 5 intervals within 10% of the median interval (under 5 minutes),
    and they are most of that host's intervals."""
    by_host: dict[str, list[datetime]] = {}
    for host, time in crashes:
        by_host.setdefault(host, []).append(time)
    for host, times in sorted(by_host.items()):
        times.sort()
        gaps = [(b - a).total_seconds() for a, b in pairwise(times)]
        if len(gaps) < 5:
            continue
        typical = median(gaps)
        steady = [g for g in gaps if abs(g - typical) <= 0.1 * typical]
        if 0 < typical < 300 and len(steady) >= 5 and len(steady) >= 0.6 * len(gaps):
            return (Factor("retries_without_jitter",
                           f"crashes on {host} recurred every {mean(steady):.1f}s with no "
                           f"jitter ({len(steady)} of {len(gaps)} intervals, standard "
                           f"deviation {pstdev(steady) * 1000:.0f} ms)"),)
    return ()

def _load(body: str) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _primary(report: dict[str, Any]) -> dict[str, Any] | None:
    crashes = [c for c in report.get("crashes", []) if isinstance(c, dict)]
    with_site = [c for c in crashes if c.get("ip") or c.get("frames")]
    chosen = with_site or crashes
    return chosen[-1] if chosen else None


def _frames(crash: dict[str, Any] | None) -> tuple[str, ...]:
    if not crash:
        return ()
    frames = crash.get("frames") or []
    thread = frames[0].get("thread") if frames else None
    rendered = []
    for frame in frames:
        if frame.get("thread") != thread:
            break
        name = frame.get("function") or "??"
        module = f" ({frame['module']}+{frame['module_offset']})" if frame.get("module") and \
            frame.get("module_offset") else ""
        where = f" at {frame['file']}:{frame['line']}" if frame.get("file") else ""
        rendered.append(f"#{frame.get('index', '?')} {name}{where}{module}"
                        + (" [inlined]" if frame.get("inlined") else ""))
    return tuple(rendered[:15])


def _factors(reports: Sequence[dict[str, Any]]) -> tuple[Factor, ...]:
    found: dict[str, str] = {}
    for report in reports:
        storm = report.get("restart_storm")
        if storm and storm.get("storm"):
            usec = storm.get("restart_usec")
            delay = f"RestartSec={usec // 1000}ms, " if isinstance(usec, int) else ""
            found.setdefault("restart_storm", f"restart loop: {delay}{storm.get('restarts')} "
                             "restarts")
        for note in report.get("evidence_health", []):
            key = {"core_limit_zero": "core_limit_zero", "size_cap": "core_size_cap",
                   "disk_nearly_full": "disk_nearly_full"}.get(note.get("problem"))
            if key:
                found.setdefault(key, note.get("text", key))
        for change in report.get("changes", []):
            kind = change.get("kind")
            if kind in {"feature_flag", "deploy"}:
                what = "flag" if kind == "feature_flag" else "version"
                found.setdefault(kind, f"{what} {change.get('name')} changed before the first "
                                 "crash")
        kind = (report.get("classification") or {}).get("kind")
        if kind in {"null-deref", "memory-corruption-suspected"}:
            found.setdefault(kind, f"classified as {kind.replace('-', ' ')}")
        crash = _primary(report)
        if crash and crash.get("frames") and not any(f.get("function") for f in crash["frames"]
                                                     if f.get("module") == crash.get("module")):
            found.setdefault("no_symbols", "the crashing module's frames had no symbols")
        if any(f.get("kind") == "oom_kill" for f in report.get("facts", [])):
            found.setdefault("oom_kill", "the kernel OOM-killed processes around the crash")
    return tuple(Factor(key, text) for key, text in found.items())


def _clock(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "?"
