"""The postmortem draft as Markdown (GitHub, Confluence and Notion imports) and as JSON."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from bot.domain.postmortem import Postmortem

_SLACK_REF = re.compile(r"<([@#])([A-Z0-9]+)(?:\|([^>]*))?>")


def to_markdown(pm: Postmortem) -> str:
    lines = [f"# Postmortem draft: {pm.title}", "", f"_Incident #{pm.incident_id}, drafted by "
             "segbot from what it observed. Edit freely; every time is UTC._", "",
             "## Summary", "", pm.summary, "", "## Impact", "",
             "| | |", "| --- | --- |",
             f"| First crash | {_at(pm.first_crash)} |", f"| Last crash | {_at(pm.last_crash)} |",
             f"| Occurrences | {pm.occurrences} |",
             f"| Hosts | {_cell(', '.join(pm.hosts) or 'unknown')} |",
             f"| Versions | {_cell(', '.join(pm.versions) or 'unknown')} |", "",
             "## Crash signature", "", f"`{pm.signature or 'unknown'}`"]
    if pm.classification:
        lines += ["", f"Classified as **{pm.classification.replace('-', ' ')}**."]
    lines += [f"- {_cell(text)}" for text in pm.evidence] if pm.evidence else []
    if pm.crash_site:
        lines += ["", "```", *pm.crash_site, "```"]
    if pm.changes:  # from change events and the service's git history
        lines += ["", "## Release, changes and suspect commits", ""]
        lines += [f"- {_cell(text)}" for text in pm.changes]
    lines += ["", "## Timeline", ""]
    lines += [f"- **{event.time:%H:%M}** {_cell(event.text)} _({event.actor})_"
              for event in pm.timeline] or ["- (no events recorded)"]
    lines += ["", "## What was done", ""]
    lines += [f"- {event.time:%H:%M} {_cell(event.text)} — {event.actor}" for event in pm.actions] \
        or ["- No containment action was taken through segbot."]
    if pm.effects:
        window = pm.effects[0].window_minutes
        lines += ["", "### What it changed", "",
                  f"| Time | Action | Who | Crashes {window} min before | {window} min after "
                  "| Verification |", "| --- | --- | --- | --- | --- | --- |"]
        lines += [f"| {e.event.time:%H:%M} | {_cell(e.event.text)} | {_cell(e.event.actor)} | "
                  f"{_count(e.before)} | {_count(e.after)} | {_cell(e.verification or '—')} |"
                  for e in pm.effects]
    lines += ["", "## Contributing factors segbot observed", ""]
    lines += [f"- {_cell(f.text)}" for f in pm.factors] or ["- None observed."]
    lines += ["", "## Action items", ""]
    lines += [f"- [ ] {item.text}" for item in pm.action_items] or ["- [ ] Add the fix and a test."]
    return "\n".join(lines) + "\n"


def to_dict(pm: Postmortem) -> dict[str, Any]:
    return {
        "incident_id": pm.incident_id, "title": pm.title, "summary": pm.summary,
        "status": pm.status, "impact": {
            "first_crash": _iso(pm.first_crash), "last_crash": _iso(pm.last_crash),
            "occurrences": pm.occurrences, "hosts": list(pm.hosts), "versions": list(pm.versions)},
        "signature": pm.signature, "classification": pm.classification,
        "crash_site": list(pm.crash_site), "evidence": list(pm.evidence),
        "timeline": [_event(e) for e in pm.timeline], "actions": [_event(e) for e in pm.actions],
        "contributing_factors": [{"key": f.key, "text": f.text} for f in pm.factors],
        "action_items": [{"text": i.text, "because": i.because} for i in pm.action_items],
        "effects": [{"action": _event(e.event), "crashes_before": e.before,
                     "crashes_after": e.after, "window_minutes": e.window_minutes,
                     "verification": e.verification} for e in pm.effects],
        "changes": list(pm.changes),
    }


def _event(event: Any) -> dict[str, Any]:
    return {"time": _iso(event.time), "kind": event.kind, "text": event.text,
            "actor": event.actor, "source": event.source}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _at(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else "unknown"


def _count(value: int | None) -> str:
    return "?" if value is None else str(value)


def _cell(text: str) -> str:
    """Keep a table cell or list item on one line and free of stray Markdown; Slack's
    <@U123> and <#C123|name> markup read as @U123 and #name outside Slack."""
    text = _SLACK_REF.sub(lambda m: ("@" if m.group(1) == "@" else "#")
                          + (m.group(3) or m.group(2)), text)
    return " ".join(text.split()).replace("|", "\\|")
