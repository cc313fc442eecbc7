"""`systemctl show UNIT -p ...`: restart policy, restart count and core limit of a unit."""

from __future__ import annotations

import re
from typing import Literal

from bot.domain.evidence import CoreLimit, Fact, RestartPolicy
from bot.domain.logline import split_records
from bot.domain.parsers.result import Parsed
from bot.domain.sizes import parse_usec

Limit = int | Literal["unlimited"]
_KEY = re.compile(
    r"^(?P<key>Id|Restart|RestartUSec|RestartSec|NRestarts|LimitCORE|LimitCORESoft|"
    r"StartLimitBurst|StartLimitIntervalUSec|StartLimitIntervalSec)=(?P<value>.*)$"
)


def parse(
    text: str,
    *,
    year: int | None = None,
    host: str | None = None,
    expected: bool = False,
    unit: str | None = None,
) -> Parsed:
    """Facts: RestartPolicy(unit, restart, restart_usec, n_restarts, limit_core,
    start_limit_burst, start_limit_interval_usec) and CoreLimit(soft, hard) from LimitCORE."""
    lines = split_records(text)
    values: dict[str, str] = {}
    claimed: set[int] = set()
    for index, raw in enumerate(lines):
        line = raw.strip()
        if match := _KEY.match(line):
            values[match["key"]] = match["value"].strip()
            claimed.add(index)
        elif expected and re.match(r"^[A-Z]\w*=", line):
            claimed.add(index)
    if not values.keys() - {"Id"}:
        return Parsed(claimed=frozenset(claimed), lines=len(lines))
    facts: list[Fact] = [
        RestartPolicy(
            unit=values.get("Id") or unit,
            restart=values.get("Restart"),
            restart_usec=_usec(values.get("RestartUSec") or values.get("RestartSec")),
            n_restarts=_int(values.get("NRestarts")),
            limit_core=values.get("LimitCORE"),
            start_limit_burst=_int(values.get("StartLimitBurst")),
            start_limit_interval_usec=_usec(
                values.get("StartLimitIntervalUSec") or values.get("StartLimitIntervalSec")
            ),
            source="systemctl show",
        )
    ]
    soft = values.get("LimitCORESoft") or values.get("LimitCORE")
    if soft:
        limit = _limit(soft)
        if limit is not None:
            hard = _limit(values.get("LimitCORE", "")) if "LimitCORESoft" in values else None
            facts.append(CoreLimit(soft=limit, hard=hard, source="systemctl show"))
    return Parsed(facts=tuple(facts), claimed=frozenset(claimed), lines=len(lines))


def _usec(value: str | None) -> int | None:
    return parse_usec(value) if value else None


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _limit(value: str) -> Limit | None:
    if value == "infinity":
        return "unlimited"
    return int(value) if value.isdigit() else None
