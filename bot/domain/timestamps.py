"""Wall-clock stamps as the tools print them: month names, syslog clocks, ISO 8601, coredumpctl.

Stamps without a zone are read as UTC, the zone production fleets keep their clocks in.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache

# English first; a few common locales so `dmesg -T` under LANG=de_DE or fr_FR still decodes.
MONTHS: dict[str, int] = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
    "mär": 3,
    "mrz": 3,
    "mai": 5,
    "okt": 10,
    "dez": 12,
    "janv": 1,
    "févr": 2,
    "mars": 3,
    "avr": 4,
    "juin": 6,
    "juil": 7,
    "août": 8,
    "sept": 9,
    "déc": 12,
    "ene": 1,
    "abr": 4,
    "ago": 8,
    "dic": 12,
    "gen": 1,
    "set": 9,
    "fev": 2,
    "out": 10,
    "dez.": 12,
}

_ISO = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<clock>\d{2}:\d{2}:\d{2})(?:[.,](?P<frac>\d+))?"
    r"(?P<zone>Z|[+-]\d{2}:?\d{2})?"
)
_COREDUMPCTL = re.compile(
    r"(?:[^\W\d_]{2,4}\s+)?(?P<date>\d{4}-\d{2}-\d{2})\s+(?P<clock>\d{2}:\d{2}:\d{2})"
    r"(?:\s+(?P<zone>UTC|GMT|[+-]\d{2}:?\d{2}|[A-Z]{2,5}))?"
)


def as_utc(value: datetime) -> datetime:
    """`value` in UTC; a naive one (dmesg -T, syslog, SQLite) is read as UTC already."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@lru_cache(maxsize=1024)  # a log repeats its stamps: several lines a second
def build_time(year: int | None, month: int, day: int, clock: str) -> datetime | None:
    """A UTC datetime from parts; None when the year is unknown or the parts make no date."""
    if year is None:
        return None
    try:
        hour, minute, second = (int(part) for part in clock.split(":"))
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None


def parse_iso(text: str) -> datetime | None:
    return _stamp(_ISO, text)


def parse_coredumpctl_time(text: str) -> datetime | None:
    """`Wed 2026-01-22 03:09:55 UTC` (the day name and zone are optional)."""
    return _stamp(_COREDUMPCTL, text)


def _stamp(pattern: re.Pattern[str], text: str) -> datetime | None:
    match = pattern.search(text)
    if not match:
        return None
    try:
        value = datetime.fromisoformat(f"{match['date']}T{match['clock']}")
    except ValueError:
        return None
    if fraction := match.groupdict().get("frac"):
        value = value.replace(microsecond=int(fraction[:6].ljust(6, "0")))
    return value.replace(tzinfo=_zone(match["zone"]))


def _zone(text: str | None) -> timezone:
    if not text or text in {"Z", "UTC", "GMT"} or text[0] not in "+-":
        return UTC
    digits = text[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
    return timezone(offset if text[0] == "+" else -offset)


# Each stamp is found by the literal it holds ("-" of a date, ":" of a clock), then checked
# in place: a pattern that starts with a literal is scanned for far faster than one that
# starts with \b or \d, and a fleet decodes every host's whole output for its year.
_DATE_TAIL = re.compile(r"-\d{2}-\d{2}\b")
_DATE_YEAR = re.compile(r"\b(20\d{2}|19\d{2})-\d{2}-\d{2}\b")
_CLOCK_TAIL = re.compile(r":\d{2} (20\d{2})\]")
_DMESG_T_YEAR = re.compile(r"\d:\d{2}:\d{2} (20\d{2})\]")


def find_year(text: str) -> int | None:
    """The year printed by any stamp in the evidence that has one (the latest such year)."""
    years: list[int] = []
    for tail in _DATE_TAIL.finditer(text):  # "YYYY-MM-DD": the year is the 4 before the tail
        if tail.start() >= 4 and (date := _DATE_YEAR.match(text, tail.start() - 4)):
            years.append(int(date[1]))
    for tail in _CLOCK_TAIL.finditer(text):  # dmesg -T: "H:MM:SS YYYY]"
        if tail.start() >= 4 and _DMESG_T_YEAR.match(text, tail.start() - 4):
            years.append(int(tail[1]))
    return max(years) if years else None
