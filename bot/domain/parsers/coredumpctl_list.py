"""`coredumpctl list`: one core per row (with or without the header), or `--json=short`.

TIME                          PID  UID  GID SIG     COREFILE EXE                            SIZE
Wed 2026-01-22 03:11:07 UTC 24891 1001 1001 SIGSEGV present  /opt/checkout/bin/checkout-api 1.2M
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from bot.domain import signals
from bot.domain.evidence import CoreFile, CrashEvidence, Fact
from bot.domain.logline import split_records
from bot.domain.parsers.result import Parsed
from bot.domain.sizes import parse_size
from bot.domain.timestamps import parse_coredumpctl_time

_ROW = re.compile(
    r"^(?P<time>(?:[^\W\d_]{2,4}\s+)?\d{4}-\d{2}-\d{2}\s+\d{2}:\d{2}:\d{2}(?:\s+(?!\d)\S+)?)"
    r"\s+(?P<pid>\d+)\s+(?P<uid>\d+)\s+(?P<gid>\d+)\s+(?P<sig>SIG[A-Z0-9]+|\d+)"
    r"\s+(?P<corefile>present|missing|none|error|truncated|inaccessible|journal|\*|-)"
    r"\s+(?P<exe>\S.*?)(?:\s+(?P<size>\d+(?:\.\d+)?[BKMGTP]?|n/a|-))?\s*$"
)
# A row a pager cut at the terminal's width ends in ">": what is left of it still names the
# crash; a cut COREFILE or EXE is not one.
_CUT_ROW = re.compile(
    r"^(?P<time>(?:[^\W\d_]{2,4}\s+)?\d{4}-\d{2}-\d{2}\s+\d{2}:\d{2}:\d{2}(?:\s+(?!\d)\S+)?)"
    r"\s+(?P<pid>\d+)\s+(?P<uid>\d+)\s+(?P<gid>\d+)\s+(?P<sig>SIG[A-Z0-9]+|\d+)"
    r"(?:\s+(?P<corefile>present|missing|none|error|truncated|inaccessible|journal)(?=\s))?"
)
_HEADER = re.compile(r"^\s*TIME\s+PID\s+UID\s+GID\s+SIG\s+(?:COREFILE|PRESENT)\s+EXE")
_OLD_STAR = {"*": "present", "-": "missing"}


def parse(
    text: str, *, year: int | None = None, host: str | None = None, expected: bool = False
) -> Parsed:
    """Crashes: CrashEvidence(source="coredump") per row: pid, process, executable, signal,
    time, corefile. Facts: CoreFile(pid, signal, corefile, executable, time, size, uid)."""
    lines = split_records(text)
    if text.lstrip().startswith("[") and (parsed := _json(text, host, len(lines))):
        return parsed
    facts: list[Fact] = []
    crashes: list[CrashEvidence] = []
    claimed: set[int] = set()
    for index, raw in enumerate(lines):
        line = raw.strip()
        if _HEADER.match(line) or (expected and line.startswith("No coredumps found")):
            claimed.add(index)
            continue
        cut = line.endswith(">")
        match = _CUT_ROW.match(line[:-1]) if cut else _ROW.match(line)
        if not match:
            continue
        claimed.add(index)
        fields = match.groupdict()
        corefile = fields.get("corefile")
        _add(
            facts,
            crashes,
            host=host,
            pid=int(match["pid"]),
            uid=int(match["uid"]),
            signal=signals.name_of(match["sig"]),
            corefile=_OLD_STAR.get(corefile, corefile) if corefile else None,
            exe=fields.get("exe"),
            time=parse_coredumpctl_time(match["time"]),
            size=parse_size(fields["size"]) if fields.get("size") else None,
        )
    return Parsed(
        crashes=tuple(crashes), facts=tuple(facts), claimed=frozenset(claimed), lines=len(lines)
    )


def _json(text: str, host: str | None, count: int) -> Parsed | None:
    try:
        rows = json.loads(text)
    except ValueError:
        return None
    if not isinstance(rows, list):
        return None
    facts: list[Fact] = []
    crashes: list[CrashEvidence] = []
    for row in rows:
        if not isinstance(row, dict) or not isinstance(row.get("pid"), int):
            continue
        stamp = row.get("time")
        time = (
            datetime.fromtimestamp(stamp / 1_000_000, tz=UTC)
            if isinstance(stamp, int) and 0 < stamp < 2**62
            else None
        )
        sig = row.get("sig")
        _add(
            facts,
            crashes,
            host=host,
            pid=row["pid"],
            uid=row.get("uid") if isinstance(row.get("uid"), int) else None,
            signal=signals.name_of(str(sig)) if sig is not None else None,
            corefile=str(row.get("corefile")) if row.get("corefile") else None,
            exe=str(row.get("exe")) if row.get("exe") else None,
            time=time,
            size=row.get("size") if isinstance(row.get("size"), int) else None,
        )
    if not facts:
        return None
    return Parsed(
        crashes=tuple(crashes), facts=tuple(facts), claimed=frozenset(range(count)), lines=count
    )


def _add(
    facts: list[Fact],
    crashes: list[CrashEvidence],
    *,
    host: str | None,
    pid: int,
    uid: int | None,
    signal: str | None,
    corefile: str | None,
    exe: str | None,
    time: datetime | None,
    size: int | None,
) -> None:
    facts.append(
        CoreFile(
            pid=pid,
            signal=signal,
            corefile=corefile,
            executable=exe,
            time=time,
            size=size,
            uid=uid,
            source="coredumpctl list",
        )
    )
    crashes.append(
        CrashEvidence(
            source="coredump",
            pid=pid,
            time=time,
            host=host,
            signal=signal,
            executable=exe,
            corefile=corefile,
            process=exe.rsplit("/", 1)[-1][:15] if exe else None,
        )
    )
