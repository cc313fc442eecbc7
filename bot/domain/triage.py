"""Determinism and ranked recommendations, per the operations playbook's "pick the branch" list:
stop the bleeding with evidence intact first, then the strongest signal decides the branch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.classify import Classification
from bot.domain.correlation import Change
from bot.domain.crash import Crash
from bot.domain.evidence import CoreFile, Fact, OomKill
from bot.domain.health import HealthNote, RestartStorm
from bot.domain.sites import count_sites


@dataclass(frozen=True)
class Recommendation:
    action: str
    reason: str
    priority: int


@dataclass(frozen=True)
class Determinism:
    verdict: str  # deterministic | varies | single | unknown
    text: str


def determinism(crashes: Sequence[Crash], *, machine_lines: int = 0) -> Determinism:
    """`machine_lines`: kernel-only crashes already left out because the host is a container."""
    sites = count_sites(crashes)
    left_out = (f"; {sites.unmatched} kernel line(s) at sites none of this host's cores or "
                "logs show were left out (a shared or container kernel log shows other "
                "hosts' crashes)" if sites.unmatched else "")
    if machine_lines:
        left_out += (f"; {machine_lines} kernel line(s) that no core, gdb or systemd record of "
                     "this host confirms were left out (a container's kernel log is the "
                     "machine's, with every container's crashes)")
    if sites.count == 0:
        return Determinism("unknown", "no crash site known yet" + left_out)
    if sites.count > 1:
        return Determinism(
            "varies",
            f"{sites.count} different crash sites ({', '.join(sites.names)}) in "
            f"{sites.describe()}: suspect memory corruption, a race or hardware{left_out}",
        )
    if sites.crashes == 1:
        others = len(crashes) - 1 - sites.unmatched
        known = (f"only 1 of {others + 1} crash records names its site ({sites.names[0]}); "
                 "the others (exits, cores without a backtrace) cannot say" if others > 0
                 else f"one crash with a known site ({sites.names[0]})")
        return Determinism(
            "single",
            f"{known}; more occurrences will tell whether it is deterministic{left_out}",
        )
    return Determinism(
        "deterministic",
        f"same site ({sites.names[0]}) in every crash with a known site "
        f"({sites.describe()}): a straightforward bug, likely input-triggered{left_out}",
    )


def recommend(
    *,
    crashes: Sequence[Crash],
    facts: Sequence[Fact],
    storm: RestartStorm | None,
    health: Sequence[HealthNote],
    changes: Sequence[Change],
    classification: Classification | None,
) -> tuple[Recommendation, ...]:
    found: list[tuple[str, str]] = []
    if storm and storm.storm:
        found.append(
            (
                "restart_delay",
                f"restart storm on {storm.unit or 'the unit'} "
                f"({storm.describe()}): every crash restarts at once and hammers its "
                "dependencies; raise RestartSec to seconds and cap flapping with "
                "StartLimitIntervalSec/StartLimitBurst",
            )
        )
    present = [c for c in facts if isinstance(c, CoreFile) and c.corefile == "present"]
    if present:
        newest = max(present, key=lambda c: c.time.timestamp() if c.time else 0)
        found.append(
            (
                "preserve_core",
                f"the core of pid {newest.pid} is present: copy it off "
                "the host now, before systemd-coredump vacuums it",
            )
        )
    problems = {note.problem for note in health}
    core_reasons = [
        note.text
        for note in health
        if note.problem in {"core_limit_zero", "core_missing", "core_truncated", "size_cap"}
    ]
    if core_reasons:
        found.append(
            (
                "raise_core_limit",
                "core capture is at risk: "
                + "; ".join(core_reasons)
                + " (set LimitCORE=infinity on the unit and raise the coredump caps)",
            )
        )
    if "disk_nearly_full" in problems:
        texts = [note.text for note in health if note.problem == "disk_nearly_full"]
        found.append(
            (
                "free_disk",
                "; ".join(texts) + ": vacuum the journal, move old cores, or "
                "send cores to a larger filesystem for the incident",
            )
        )
    # A change is a suspect only where something crashed: a healthy host runs versions too.
    suspects = changes if crashes else ()
    flag_changes = [c for c in suspects if c.kind == "feature_flag"]
    deploys = [c for c in suspects if c.kind == "deploy"]
    for change in flag_changes:
        found.append(
            (
                "disable_flag",
                f"feature flag {change.name} was {change.detail}"
                f"{_when(change)}: if the crashes started with it, turning it off is the "
                "fastest safe mitigation",
            )
        )
    for change in deploys:
        detail = f" ({change.detail})" if change.detail else ""
        found.append(
            (
                "rollback",
                f"version {change.name}{detail} was running{_when(change)}: "
                "roll back while the core is analysed",
            )
        )
    sites = count_sites(crashes)
    if sites.count > 1:
        found.append(
            (
                "run_sanitizers",
                f"the crash site varies ({sites.count} sites: {', '.join(sites.names)}): "
                "reproduce under ASan/UBSan (and TSan if it only happens under load)",
            )
        )
    if any(isinstance(f, OomKill) for f in facts):
        found.append(
            (
                "investigate_oom",
                "the kernel OOM-killed processes too: treat memory "
                "pressure first; the segfault may be corruption under stress",
            )
        )
    return tuple(
        Recommendation(action, reason, priority)
        for priority, (action, reason) in enumerate(found, start=1)
    )


def _when(change: Change) -> str:
    if change.time is None:
        return " before the crash"
    stamp = change.time.strftime("%H:%M:%S")
    if change.minutes_before is None:
        return f" at {stamp}"
    return f" since {stamp}, {change.minutes_before:g} min before the first crash"
