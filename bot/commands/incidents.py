"""`segbot incidents` and `segbot incident ID`: what the incident store holds."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from bot.domain.incident import Incident, IncidentDetail

JsonOption = Annotated[bool, typer.Option("--json", help="print JSON")]


def command(as_json: JsonOption = False) -> None:
    """List incidents, newest first."""
    from bot.wiring.local import open_store

    incidents = open_store().list_incidents()
    if as_json:
        print(json.dumps([incident_dict(i) for i in incidents], indent=2))
        return
    if not incidents:
        print("no incidents")
    for incident in incidents:
        print(
            f"#{incident.id:<5} {incident.status:<13} {incident.service}  "
            f"{incident.signature or '(signature not known)'}  "
            f"{incident.occurrences} occurrence(s) on {len(incident.hosts)} host(s)  "
            f"last {incident.last_seen:%Y-%m-%d %H:%M:%S}Z"
        )


def show(
    incident_id: Annotated[int, typer.Argument(metavar="ID", help="incident id")],
    as_json: JsonOption = False,
) -> None:
    """One incident: occurrences by host and version, diagnoses, decoded reports, timeline."""
    from bot.errors import NotFound
    from bot.wiring.local import open_store

    detail = open_store().incident_detail(incident_id)
    if detail is None:
        raise NotFound(f"no incident {incident_id}")
    if as_json:
        print(json.dumps(detail_dict(detail), indent=2))
    else:
        print(detail_text(detail))


def incident_dict(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.id,
        "service": incident.service,
        "signature": incident.signature,
        "status": incident.status.value,
        "occurrences": incident.occurrences,
        "hosts": list(incident.hosts),
        "opened_at": incident.opened_at.isoformat(),
        "last_seen": incident.last_seen.isoformat(),
        "commander": incident.commander,
        "related": list(incident.related),
    }


def detail_dict(detail: IncidentDetail) -> dict[str, Any]:
    reports: list[Any] = []
    for host, body in detail.reports:
        try:
            reports.append({"host": host, "report": json.loads(body)})
        except ValueError:
            reports.append({"host": host, "report": body})
    return {
        **incident_dict(detail.incident),
        "roles": {role.value: who for role, who in detail.roles},
        "occurrences_by_host": [
            {
                "host": c.host,
                "version": c.version,
                "occurrences": c.occurrences,
                "first_seen": c.first_seen.isoformat(),
                "last_seen": c.last_seen.isoformat(),
            }
            for c in detail.by_host_version
        ],
        "diagnoses": [
            {"host": d.host, "state": d.state, "requested_at": d.requested_at.isoformat()}
            for d in detail.diagnoses
        ],
        "reports": reports,
        "timeline": [
            {
                "time": e.time.isoformat(),
                "kind": e.kind,
                "actor": e.actor,
                "source": e.source,
                "text": e.text,
            }
            for e in detail.timeline
        ],
    }


def detail_text(detail: IncidentDetail) -> str:
    i = detail.incident
    lines = [
        f"incident #{i.id}: {i.service}  [{i.status}]",
        f"  signature: {i.signature or '(not known yet)'}",
        f"  {i.occurrences} occurrence(s), opened {i.opened_at:%Y-%m-%d %H:%M:%S}Z, "
        f"last seen {i.last_seen:%Y-%m-%d %H:%M:%S}Z",
    ]
    if i.commander:
        lines.append(f"  commander: {i.commander}")
    if i.related:
        lines.append("  related: " + ", ".join(f"#{r}" for r in i.related))
    lines.append("occurrences by host and version:")
    for c in detail.by_host_version:
        lines.append(f"  {c.host:<24} {c.version or '-':<16} {c.occurrences:>7}")
    if detail.diagnoses:
        lines.append("diagnoses:")
        lines.extend(f"  {d.host:<24} {d.state}" for d in detail.diagnoses)
    for host, body in detail.reports:
        lines.append(f"decoded report from {host}:")
        lines.extend("  " + line for line in body.splitlines())
    lines.append("timeline:")
    for e in detail.timeline:
        lines.append(f"  {e.time:%Y-%m-%d %H:%M:%S}Z  {e.kind:<10} {e.text}  ({e.actor})")
    return "\n".join(lines)
