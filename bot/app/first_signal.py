"""The incident's first post is its phone notification: how much of the crash a report shows,
and how long the first post still waits for the diagnosis's first result."""

from __future__ import annotations

from collections.abc import Sequence

from bot.app.report_view import HostProgress
from bot.domain.incident import Incident
from bot.domain.report import DecodedReport

NOTHING, SIGNAL, SITE = 0, 1, 2  # how much of a crash a report shows


def level(report: DecodedReport | None) -> int:
    """SITE once the report says where it crashed (kernel ip or a frame), SIGNAL once a crash."""
    crash = report.primary if report is not None else None
    if crash is None:
        return NOTHING
    return SITE if crash.ip is not None or crash.frames else SIGNAL


def first_post_wait(*, incident: Incident, report: DecodedReport | None,
                    progress: Sequence[HostProgress], diagnosing: bool,
                    waited: float | None, wait: float) -> float:
    """Seconds the first post should still wait (0: post now). It waits for the crash site
    while a diagnosis may still bring it; an alert's known signal is posted at once."""
    if (level(report) == SITE or incident.signature or not diagnosing or waited is None
            or (progress and all(h.finished for h in progress))):
        return 0.0
    return wait - waited
