"""Byte sizes as systemd, df -h and coredumpctl print them (`2G`, `1.6G`, `512K`, `1.2M`)."""

from __future__ import annotations

import re

_SIZE = re.compile(r"^(?P<number>\d+(?:[.,]\d+)?)\s*(?P<unit>[KMGTPE]?)(?:i?B)?$", re.IGNORECASE)
_POWERS = {"": 0, "K": 1, "M": 2, "G": 3, "T": 4, "P": 5, "E": 6}


def parse_size(text: str, *, default_unit: str = "") -> int | None:
    """`2G` -> 2147483648 (systemd and df use powers of 1024); None when it is not a size."""
    match = _SIZE.match(text.strip())
    if not match:
        return None
    unit = (match["unit"] or default_unit).upper()
    number = float(match["number"].replace(",", "."))
    return int(number * 1024 ** _POWERS[unit])


def parse_usec(text: str) -> int | None:
    """systemd time spans (`200ms`, `1min 30s`, `5s`, `infinity`) in microseconds."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    units = {
        "us": 1,
        "usec": 1,
        "ms": 1000,
        "msec": 1000,
        "s": 10**6,
        "sec": 10**6,
        "min": 60 * 10**6,
        "m": 60 * 10**6,
        "h": 3600 * 10**6,
        "hr": 3600 * 10**6,
        "d": 86400 * 10**6,
    }
    total = 0
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([a-zµ]+)", text)
    if not parts or re.sub(r"[\d.\sa-zµ]", "", text):
        return None
    for number, unit in parts:
        factor = units.get(unit.replace("µ", "u"))
        if factor is None:
            return None
        total += int(float(number) * factor)
    return total
