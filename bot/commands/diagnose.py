"""`segbot diagnose [--config FILE] [--json] [HOST] SERVICE`: the crash playbook over SSH on one
host, or on every host of the service with the blast radius and drift leads."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from bot.app.diagnose import HostDiagnosis
    from bot.app.fleet import BlastRadius, Lead

SUMMARY_OVER = 8  # hosts: above this, a fan-out prints its summary and outliers, not each host
_STYLE = {"ok": "green", "failed": "red", "timed-out": "yellow", "skipped": "dim",
          "running": "cyan", "waiting": "dim"}


def host_to_dict(diagnosis: HostDiagnosis) -> dict[str, Any]:
    """The decoded report (decode --json's schema) plus the host, each step's status, copies."""
    from bot.domain.host_crashes import crash_events
    from bot.domain.report_json import report_to_dict

    data: dict[str, Any] = (report_to_dict(diagnosis.report) if diagnosis.report is not None
                            else {"crashes": [], "facts": []})
    events = (crash_events(crashes=diagnosis.report.crashes, facts=diagnosis.report.facts,
                           unit=None, executable=None) if diagnosis.report is not None else ())
    data.update(
        # Each crash on the host once (cores, exits; kernel lines only without either): what
        # an incident counts. `crashes` also holds a shared kernel log's other processes.
        occurrences=[{"time": e.time.isoformat(), "pid": e.pid, "signal": e.signal,
                      "sources": list(e.sources)} for e in events],
        host=diagnosis.host, service=diagnosis.service, error=diagnosis.error,
        decode_error=diagnosis.decode_error,
        symbol_notes=list(diagnosis.symbol_notes),
        steps=[{"id": o.step, "title": o.title, "status": o.status, "reason": o.reason,
                "command": o.command, "exit_status": o.exit_status,
                "duration": round(o.duration, 3), "truncated": o.truncated}
               for o in diagnosis.steps],
        artifacts=[{"step": o.step, "path": str(o.artifact.path), "size": o.artifact.size,
                    "sha256": o.artifact.sha256, "verified": o.verified}
                   for o in diagnosis.steps if o.artifact is not None],
    )
    return data


def fleet_to_dict(service: str, diagnoses: list[HostDiagnosis], radius: BlastRadius,
                  leads: list[Lead]) -> dict[str, Any]:
    def groups(pairs: tuple[tuple[str | None, tuple[str, ...]], ...]) -> list[dict[str, Any]]:
        return [{"value": value, "hosts": list(hosts)} for value, hosts in pairs]

    return {
        "service": service,
        "hosts": [host_to_dict(d) for d in diagnoses],
        "blast_radius": {
            "crashing": list(radius.crashing), "healthy": list(radius.healthy),
            "unreachable": list(radius.unreachable), "same_signature": radius.same_signature,
            "signatures": groups(radius.signatures), "versions": groups(radius.versions)},
        "leads": [{"step": lead.step, "text": lead.text,
                   "crashing": groups(lead.crashing), "healthy": groups(lead.healthy)}
                  for lead in leads],
    }


def _render_host(console: Any, data: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title=f"{data['host']} / {data['service']}", show_lines=False)
    for column in ("step", "status", "reason"):
        table.add_column(column)
    for step in data["steps"]:
        status = step["status"]
        table.add_row(step["id"], f"[{_STYLE[status]}]{status}[/]", step["reason"] or "")
    console.print(table)
    found = data.get("occurrences", [])
    if found:
        first, last = (datetime.fromisoformat(found[i]["time"]) for i in (0, -1))
        console.print(f"{len(found)} crash(es) on {data['host']}: first "
                      f"{first:%Y-%m-%d %H:%M:%S}, last {last:%H:%M:%S} UTC", highlight=False)
    lead = _lead_crash(data["crashes"])
    if lead is not None:
        where = f"{lead.get('module')}+{lead.get('module_offset')}"
        fault = (f" at fault address {lead['fault_address']}" if lead.get("fault_address")
                 else "")
        console.print(f"crash: pid {lead.get('pid')} {lead.get('signal')}{fault} in {where}",
                      highlight=False)
        for frame in lead.get("frames", [])[:8]:
            line = f"  #{frame.get('index')} {frame.get('function') or '??'}"
            if frame.get("file"):
                line += f" at {frame['file']}:{frame.get('line')}"
            console.print(line, highlight=False)
    if data.get("signature"):
        console.print(f"signature: {data['signature']}")
    if data.get("classification"):
        c = data["classification"]
        console.print(f"classification: {c.get('kind')} ({c.get('confidence')})")
    if data.get("determinism"):
        console.print(f"determinism: {data['determinism'].get('text')}", highlight=False)
    for note in data.get("evidence_health", []):
        console.print(f"evidence at risk: {note.get('text')}", highlight=False)
    for rec in data.get("recommendations", []):
        console.print(f"recommend: {rec.get('action')}: {rec.get('reason')}")
    for artifact in data["artifacts"]:
        console.print(f"preserved: {artifact['path']} ({artifact['size']} bytes, sha256 "
                      f"{artifact['sha256']}, verified={artifact['verified']})")
    if data["error"]:
        console.print(f"[red]stopped early: {data['error']}[/]")


def _print_summary(console: Any, diagnoses: list[HostDiagnosis], zones: dict[str, str],
                   evidence_dir: Path, service: str) -> None:
    """Counts per signature, version and AZ, the outliers, and the full table as a file."""
    from datetime import UTC

    from bot.app.fleet import fleet_table, summarize

    for line in summarize(diagnoses, zones).lines():
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    evidence_dir.mkdir(parents=True, exist_ok=True)
    table = evidence_dir / f"fleet-{service}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.tsv"
    table.write_text(fleet_table(diagnoses, zones))
    console.print(f"every host: {table}", markup=False, highlight=False, soft_wrap=True)


def _lead_crash(crashes: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The best-evidenced crash (most sources, then frames): one, not every kernel line."""
    if not crashes:
        return None
    return max(crashes, key=lambda c: (len(c.get("sources", [])), len(c.get("frames", []))))


class _Progress:
    """A live table of every host's steps, updated from the worker threads."""

    def __init__(self, hosts: list[str], steps: list[str]) -> None:
        import threading

        self.state = {(h, s): "waiting" for h in hosts for s in steps}
        self.hosts, self.steps = hosts, steps
        self.lock = threading.Lock()

    def __call__(self, host: str, step: str, status: str) -> None:
        with self.lock:
            self.state[(host, step)] = status

    def __rich__(self) -> Any:
        from rich.table import Table

        if len(self.hosts) > SUMMARY_OVER:  # a column per host does not fit: counts instead
            with self.lock:
                counts: dict[str, int] = {}
                for status in self.state.values():
                    counts[status] = counts.get(status, 0) + 1
            return (f"segbot diagnose: {len(self.hosts)} hosts, steps "
                    + ", ".join(f"[{_STYLE[k]}]{k} {v}[/]" for k, v in sorted(counts.items())))
        table = Table(box=None, title="segbot diagnose")
        table.add_column("step")
        for host in self.hosts:
            table.add_column(host)
        with self.lock:
            for step in self.steps:
                cells = [self.state[(h, step)] for h in self.hosts]
                table.add_row(step, *(f"[{_STYLE[c]}]{c}[/]" for c in cells))
        return table


def command(
    targets: Annotated[list[str], typer.Argument(
        metavar="[HOST] SERVICE", help="An inventory host and a service, or a service alone.")],
    config: Annotated[Path | None, typer.Option(
        "--config", help="Config file (default: $SEGBOT_CONFIG).")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    hosts: Annotated[str | None, typer.Option(
        "--hosts", help="Comma-separated inventory hosts (default: all of the service's).")
    ] = None,
    evidence_dir: Annotated[Path | None, typer.Option(
        "--evidence-dir", help="Where copied cores and binaries go (default from config).")
    ] = None,
    playbook: Annotated[Path | None, typer.Option("--playbook", help="Playbook YAML.")] = None,
) -> None:
    """Run the crash playbook over SSH, preserve the evidence, and decode it."""
    import json
    from datetime import UTC

    from bot.config import checked_name, load_config
    from bot.errors import UsageError

    if len(targets) not in (1, 2):
        raise UsageError("give HOST SERVICE, or SERVICE alone to diagnose all its hosts")
    names = [checked_name(t, "host" if i == 0 and len(targets) == 2 else "service")
             for i, t in enumerate(targets)]
    picked = [checked_name(h.strip(), "host") for h in hosts.split(",")] if hosts else None
    cfg = load_config(config)
    service = names[-1]
    if service not in cfg.services:
        raise UsageError(f"unknown service {service!r} (not in the config's services)")
    host_names = [names[0]] if len(names) == 2 else (picked or cfg.service_hosts(service))
    for name in host_names:
        if name not in cfg.hosts:
            raise UsageError(f"unknown host {name!r} (not in the config's hosts)")
    if not host_names:
        raise UsageError(f"service {service!r} selects no host")

    from rich.console import Console
    from rich.live import Live

    from bot.app.fleet import blast_radius, drift_leads
    from bot.config import load_playbook_file
    from bot.wiring.fan_out import diagnose_service_hosts
    from bot.wiring.ssh import inventory, limits

    book = load_playbook_file(playbook, cfg)
    d = cfg.defaults
    inventories = [inventory(cfg, h, service) for h in host_names]
    progress = _Progress(host_names, [s.id for s in book.steps])
    stderr = Console(stderr=True)
    with Live(progress, console=stderr, refresh_per_second=8, transient=True):
        diagnoses = diagnose_service_hosts(
            cfg, playbook=book, inventories=inventories,
            evidence_dir=evidence_dir or Path(d.evidence_dir), now=datetime.now(UTC),
            limits=limits(cfg), progress=progress)
    if len(names) == 2:
        data = host_to_dict(diagnoses[0])
        if json_output:
            typer.echo(json.dumps(data, indent=2, default=str))
        else:
            _render_host(Console(), data)
    else:
        leads = drift_leads(diagnoses, book)
        if json_output or len(diagnoses) <= SUMMARY_OVER:  # the summary reckons its own
            radius = blast_radius(diagnoses)
            fleet = fleet_to_dict(service, diagnoses, radius, leads)
        if json_output:
            typer.echo(json.dumps(fleet, indent=2, default=str))
        elif len(diagnoses) > SUMMARY_OVER:
            _print_summary(Console(), diagnoses, {h: cfg.hosts[h].labels.get("az", "?")
                                                  for h in host_names},
                           evidence_dir or Path(d.evidence_dir), service)
            for lead in leads:
                Console().print(f"lead: {lead.text}", highlight=False)
        else:
            console = Console()
            for host_data in fleet["hosts"]:
                _render_host(console, host_data)
            console.print(f"blast radius: crashing {list(radius.crashing)}, healthy "
                          f"{list(radius.healthy)}, unreachable {list(radius.unreachable)}, "
                          f"same signature: {radius.same_signature}")
            for lead in leads:
                console.print(f"lead: {lead.text}")
    failed = [d for d in diagnoses if d.error]
    if failed:
        for diagnosis in failed[:SUMMARY_OVER] if len(diagnoses) > SUMMARY_OVER else failed:
            error = diagnosis.error or ""
            named = error if error.startswith(f"{diagnosis.host}:") else (
                f"{diagnosis.host}: {error}")
            stderr.print(f"segbot: {named}", markup=False)
        raise typer.Exit(1)
