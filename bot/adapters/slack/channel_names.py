"""Incident channel names: `inc-YYYYMMDD-service-signal`, within Slack's rules (lowercase
letters, digits, `-` and `_`, at most 80 characters), made unique with a suffix when taken."""

from __future__ import annotations

import re
from datetime import datetime

MAX_NAME = 80
_BAD = re.compile(r"[^a-z0-9_-]+")


def _clean(part: str) -> str:
    return _BAD.sub("-", part.lower()).strip("-_")


def channel_name(*, prefix: str, opened_at: datetime, service: str, signal: str | None,
                 attempt: int = 0, incident_id: int = 0) -> str:
    """The name to try; `attempt` > 0 adds `-<incident id>` (then `-<id>-<attempt>`)."""
    parts = [_clean(prefix) or "inc", opened_at.strftime("%Y%m%d"), _clean(service) or "service",
             _clean(signal or "crash") or "crash"]
    base = re.sub(r"-{2,}", "-", "-".join(parts))
    suffix = "" if attempt == 0 else f"-{incident_id}" + (f"-{attempt}" if attempt > 1 else "")
    return base[: MAX_NAME - len(suffix)].rstrip("-_") + suffix
