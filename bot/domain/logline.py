"""Log-line prefixes: dmesg stamps, dmesg -x facilities, syslog and journal stamps, idents.

Every evidence line may arrive wrapped in one of these; parsers read the message that is left
and the time, host, ident and pid the prefix carried.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from bot.domain.timestamps import MONTHS, build_time, parse_iso

_UPTIME = re.compile(r"^\[\s*(?P<uptime>\d+\.\d+)\s*\]\s?")
# dmesg -T: "[Wed Jan 22 03:11:07 2026]" (days space-padded; other locales' day and month names).
_DMESG_T = re.compile(
    r"^\[(?P<dow>[^\W\d_]{2,4}\.?)?\s*(?P<a>[^\W\d_]{2,5}\.?|\d{1,2}\.?)\s+(?P<b>[^\W\d_]{2,5}\.?|\d{1,2}\.?)"
    r"\s+(?P<clock>\d{1,2}:\d{2}:\d{2})\s+(?P<year>\d{4})\]\s?"
)
_FACILITIES = ("kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
               "authpriv", "ftp", r"local\d")
_FACILITY = re.compile(
    rf"^(?:{'|'.join(_FACILITIES)})\s*:"
    r"\s*(?:emerg|alert|crit|err|warn|notice|info|debug)\s*:\s?"
)
_FACILITY_INITIALS = frozenset(name[0] for name in _FACILITIES)
# OpenWrt's logread and ctime(3): "Sun Aug  9 13:47:00 2026 kern.info kernel: ...".
_CTIME = re.compile(
    r"^[A-Z][a-z]{2}\s+(?P<month>[A-Z][a-z]{2})\s+(?P<day>\d{1,2})\s+"
    r"(?P<clock>\d{1,2}:\d{2}:\d{2})\s+(?P<year>\d{4})\s+(?:[a-z]+\.[a-z]+\s+)?"
)
_SYSLOG = re.compile(
    r"^(?P<month>[A-Z][a-z]{2})\s+(?P<day>\d{1,2})\s+(?P<clock>\d{1,2}:\d{2}:\d{2})(?:\.\d+)?\s+"
)
_ISO = re.compile(
    r"^(?P<iso>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?)\s+"
)
# "node-17 checkout-api[24891]: " or "kernel: " after a syslog stamp; the host is optional.
_HOST_IDENT = re.compile(
    r"^(?:(?P<host>[A-Za-z0-9][\w.-]*|<[^<>\s]+>)\s+)?(?P<ident>[\w.@/-]+?)(?:\[(?P<pid>\d+)\])?:\s"
)
# Without a syslog stamp only "ident[pid]: " is an ident (journalctl -o short-monotonic, a
# pasted line); "traps: " and "my worker: 1[31337]: " are the kernel's own text.
_IDENT_PID = re.compile(r"^(?P<ident>[\w.@/-]+)\[(?P<pid>\d+)\]:\s")
_KERNEL = re.compile(r"^kernel:\s+")
# Markdown quotes a pasted log as "> line" (nested: "> > line", ">> line"); the space keeps a
# comm that starts with ">" ("[1.2] >x[5]: segfault") out of it.
_QUOTE = re.compile(r"(?m)^[ \t]*>(?:[ \t]*>)*(?:[ \t]+|[ \t]*$)")
_PRIORITY = re.compile(r"^<\d{1,3}>")


@dataclass(frozen=True)
class LogLine:
    """One log record with its prefixes read off; `message` is what the program printed."""

    message: str
    time: datetime | None = None
    uptime: float | None = None
    host: str | None = None
    ident: str | None = None
    pid: int | None = None


def split_records(text: str) -> list[str]:
    """Lines of a blob, with rsyslog's `#012` escapes turned back into line breaks."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "#012" in text:
        text = text.replace("#012", "\n").replace("#011", "\t")
    lines = text.split("\n")
    if ">" in text:  # only a line that starts with ">" can be quoted: leave the rest unscanned
        lines = [_QUOTE.sub("", line, count=1)
                 if line[:1] in " \t>" and line.lstrip(" \t").startswith(">") else line
                 for line in lines]
    return lines


def parse_line(raw: str, *, year: int | None = None) -> LogLine:
    """Read the prefixes off one line; a line without any comes back as its own message."""
    text = raw.strip()
    # Each pattern is tried only where its first character can start the line: a fleet's
    # kernel log is hundreds of dmesg -T lines, each read once per host.
    if text.startswith("<"):
        text = _PRIORITY.sub("", text)
    time: datetime | None = None
    uptime: float | None = None
    host: str | None = None
    ident: str | None = None
    pid: int | None = None

    if text[:1] in _FACILITY_INITIALS:
        text = _FACILITY.sub("", text)
    if text.startswith("["):
        if match := _DMESG_T.match(text):
            time = _dmesg_time(match)
            text = text[match.end() :]
    elif match := _ISO.match(text):
        time = parse_iso(match["iso"])
        text, host, ident, pid = _read_ident(text[match.end() :], with_host=True)
    elif match := _SYSLOG.match(text):
        month = MONTHS.get(match["month"].lower())
        if month is not None:
            time = build_time(year, month, int(match["day"]), match["clock"])
            text, host, ident, pid = _read_ident(text[match.end() :], with_host=True)
    elif match := _CTIME.match(text):
        month = MONTHS.get(match["month"].lower())
        if month is not None:
            time = build_time(int(match["year"]), month, int(match["day"]), match["clock"])
            text, host, ident, pid = _read_ident(text[match.end() :], with_host=False)
    elif match := _KERNEL.match(text):
        ident, text = "kernel", text[match.end() :]
    if match := _UPTIME.match(text):
        uptime = float(match["uptime"])
        text = text[match.end() :]
    elif ident == "kernel" and (match := _DMESG_T.match(text)):
        text = text[match.end() :]
    if ident is None and (match := _IDENT_PID.match(text)):
        ident, pid, text = match["ident"], int(match["pid"]), text[match.end() :]
    return LogLine(message=text, time=time, uptime=uptime, host=host, ident=ident, pid=pid)


def _read_ident(rest: str, *, with_host: bool) -> tuple[str, str | None, str | None, int | None]:
    match = _HOST_IDENT.match(rest)
    if not match:
        return rest, None, None, None
    host, ident = match["host"], match["ident"]
    pid = int(match["pid"]) if match["pid"] else None
    if not with_host:
        host = None
    return rest[match.end() :], host, ident, pid


def _dmesg_time(match: re.Match[str]) -> datetime | None:
    return _dmesg_stamp(match["a"], match["b"], match["clock"], match["year"])


@lru_cache(maxsize=1024)
def _dmesg_stamp(a: str, b: str, clock: str, year: str) -> datetime | None:
    """Read once per stamp: a crash loop prints several lines a second under one stamp."""
    first, second = a.rstrip(".").lower(), b.rstrip(".").lower()
    day: int | None
    if first.isdigit():
        day, month = int(first), MONTHS.get(second)
    else:
        month, day = MONTHS.get(first), int(second) if second.isdigit() else None
    if month is None or day is None:
        return None
    return build_time(int(year), month, day, clock)
