"""Deploys and feature flags that changed before the first crash: the "when did it start" answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.domain.crash import Crash
from bot.domain.evidence import Deploy, Fact, FeatureFlag
from bot.domain.sites import own_crashes


@dataclass(frozen=True)
class Change:
    kind: str  # deploy | feature_flag
    name: str  # the version, or the flag's name
    detail: str  # "git 9b7c6fd3", "on"
    time: datetime | None
    minutes_before: float | None  # before the first crash; None when either time is unknown


def changes_before_first_crash(
    facts: Sequence[Fact], crashes: Sequence[Crash]
) -> tuple[Change, ...]:
    """The newest deploy and each flag's latest state at or before the first crash, newest first.

    With no times to compare, every marker seen is returned: a version and a flag in the logs
    of a crashing service are leads even when we cannot order them. A shared kernel log's
    neighbours (kernel lines at a site none of this host's records name) do not start it."""
    first = min((c.time for c in own_crashes(crashes) if c.time), default=None)
    changes: list[Change] = []
    deploys = [f for f in facts if isinstance(f, Deploy) and f.version and _before(f.time, first)]
    if deploys:
        deploy = max(deploys, key=lambda d: d.time.timestamp() if d.time else float("-inf"))
        changes.append(
            Change(
                "deploy",
                deploy.version or "",
                f"git {deploy.git}" if deploy.git else "",
                deploy.time,
                _minutes(deploy.time, first),
            )
        )
    flags: dict[str, FeatureFlag] = {}
    for flag in (f for f in facts if isinstance(f, FeatureFlag) and _before(f.time, first)):
        flags[flag.name] = flag
    for flag in flags.values():
        if flag.state == "on":
            changes.append(
                Change("feature_flag", flag.name, flag.state, flag.time, _minutes(flag.time, first))
            )
    return tuple(
        sorted(
            changes,
            key=lambda c: c.minutes_before if c.minutes_before is not None else float("inf"),
        )
    )


def _before(time: datetime | None, first: datetime | None) -> bool:
    return time is None or first is None or time <= first


def _minutes(time: datetime | None, first: datetime | None) -> float | None:
    if time is None or first is None:
        return None
    return round((first - time).total_seconds() / 60, 1)
