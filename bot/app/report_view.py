"""What an incident's report message shows, and the live diagnosis state it is built from.

`ReportBook` collects each host's progress and decoded evidence as steps land (from diagnose
threads); `ReportView` is the frozen snapshot the chat adapter renders into Block Kit.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.conclude import with_unit_state
from bot.domain.decode import DecodedReport, Focus, Section, decode_sections
from bot.domain.evidence import BuildId, Deploy
from bot.domain.incident import Incident
from bot.domain.stored_frames import with_stored_frames

# Re-decoding everything received so far on each new output costs O(n^2): past this many
# characters the live report waits for the final one.
MAX_LIVE_DECODE = 2 << 20


@dataclass(frozen=True)
class HostProgress:
    host: str
    total: int
    done: int
    running: tuple[str, ...]
    failed: tuple[str, ...]
    finished: bool
    error: str | None = None
    signature: str | None = None
    version: str | None = None  # the service's deployed version (else its build-id)
    zone: str | None = None  # the host's AZ label


@dataclass(frozen=True)
class Button:
    proposal_id: str
    action: str
    label: str
    destructive: bool
    configured: bool
    preview: str | None = None  # the confirm dialog: what it will do and the state it changes


@dataclass(frozen=True)
class Decision:
    """Who did what with a button (shown under the report)."""

    actor: str
    action: str
    state: str
    at: datetime
    outcome: str | None


@dataclass(frozen=True)
class ReportView:
    incident: Incident
    report: DecodedReport | None  # the lead host's evidence, decoded so far
    report_host: str | None
    hosts: tuple[HostProgress, ...]
    buttons: tuple[Button, ...] = ()
    decisions: tuple[Decision, ...] = ()
    files: tuple[str, ...] = ()  # names of files already uploaded to the thread
    changes: tuple[str, ...] = ()  # what change history says (bot.app.change_context)


@dataclass
class _Host:
    total: int
    statuses: dict[str, str] = field(default_factory=dict)
    sections: list[Section] = field(default_factory=list)
    report: DecodedReport | None = None
    finished: bool = False
    error: str | None = None
    zone: str | None = None  # the host's AZ label
    decoding: bool = False  # one thread decodes a host's evidence at a time
    stale: bool = False  # evidence arrived during that decode: decode again after it


class ReportBook:
    """Thread-safe live state of every incident's diagnoses (the store keeps the incident)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hosts: dict[int, dict[str, _Host]] = {}
        self._files: dict[int, list[str]] = {}
        self._pending: dict[int, dict[str, tuple[str, str]]] = {}

    def started(self, incident_id: int, host: str, steps: int, *,
                zone: str | None = None) -> None:
        with self._lock:
            self._hosts.setdefault(incident_id, {})[host] = _Host(total=steps, zone=zone)

    def step(self, incident_id: int, host: str, step: str, status: str) -> None:
        with self._lock:
            self._host(incident_id, host).statuses[step] = status

    def evidence(self, incident_id: int, host: str, section: Section, now: datetime,
                 focus: Focus | None = None) -> bool:
        """Add one command's output and re-decode (only crashes of the program in `focus`);
        True if the decoded report changed."""
        # Outputs land together (one SSH connection, several sessions): decoding each arrival
        # in its own thread would redo the same work side by side and let an older decode
        # overwrite a newer one. The thread decoding goes on until nothing new arrived.
        with self._lock:
            state = self._host(incident_id, host)
            state.sections.append(section)
            if state.decoding:
                state.stale = True
                return False  # the decoding thread picks this section up
            state.decoding = True
        changed = False
        while True:
            with self._lock:
                sections, state.stale = list(state.sections), False
            if sum(len(s.output) for s in sections) > MAX_LIVE_DECODE:
                report = None  # huge outputs: leave it to the final report, keep steps moving
            else:
                report = decode_sections(sections, now=now, host=host, focus=focus)
            with self._lock:
                if report is not None and not state.finished:  # else: the final one landed
                    changed |= state.report is None or _gist(state.report) != _gist(report)
                    state.report = report
                if not state.stale or state.finished:
                    state.decoding = False
                    return changed

    def finished(self, incident_id: int, host: str, report: DecodedReport | None,
                 error: str | None) -> None:
        with self._lock:
            state = self._host(incident_id, host)
            if report is not None:
                state.report = report
            state.finished, state.error = True, error
            state.sections = []  # the final report is decoded; the store keeps the outputs

    def unit_state(self, incident_id: int, host: str, show: str) -> bool:
        """An action changed the unit on `host`: its report shows the state re-read after."""
        with self._lock:
            state = self._hosts.get(incident_id, {}).get(host)
            if state is None or state.report is None:
                return False
            state.report = with_unit_state(state.report, show)
            if not state.finished:
                state.sections.append(Section(output=show, command="systemctl show",
                                              host=host, parser="systemctl_show"))
        return True

    def forget(self, incident_id: int) -> None:
        """Drop an incident's live state (resolved): the store can rebuild it if needed."""
        with self._lock:
            self._hosts.pop(incident_id, None)
            self._files.pop(incident_id, None)

    def known(self, incident_id: int) -> bool:
        with self._lock:
            return incident_id in self._hosts

    def restore(self, incident_id: int, rows: list[tuple[str, str, str]], now: datetime,
                focus: dict[str, Focus | None], stored: Mapping[str, str] | None = None
                ) -> None:
        """Rebuild an incident's decoded evidence from stored outputs (after a restart, or
        on another replica), with the symbolized frames of each host's `stored` report."""
        by_host: dict[str, list[Section]] = {}
        for host, command, output in rows:
            by_host.setdefault(host, []).append(Section(output=output, command=command,
                                                        host=host))
        with self._lock:
            hosts = self._hosts.setdefault(incident_id, {})
        for host, sections in by_host.items():
            report = decode_sections(sections, now=now, host=host, focus=focus.get(host))
            if report is not None and stored and host in stored:
                report = with_stored_frames(report, stored[host])
            with self._lock:
                hosts[host] = _Host(total=0, sections=sections, report=report, finished=True,
                                    error="restored from stored evidence after a restart")

    def attach(self, incident_id: int, filename: str, title: str, content: str) -> None:
        """A file to upload to the report's thread with the next publish."""
        with self._lock:
            self._pending.setdefault(incident_id, {})[filename] = (title, content)

    def pending_files(self, incident_id: int) -> list[tuple[str, str, str]]:
        with self._lock:
            return [(n, t, c) for n, (t, c) in self._pending.get(incident_id, {}).items()]

    def uploaded(self, incident_id: int, filename: str) -> None:
        with self._lock:
            self._pending.get(incident_id, {}).pop(filename, None)
            if filename not in self._files.setdefault(incident_id, []):
                self._files[incident_id].append(filename)

    def snapshot(self, incident_id: int) -> tuple[DecodedReport | None, str | None,
                                                  tuple[HostProgress, ...], tuple[str, ...]]:
        """(lead report, its host, each host's progress, uploaded files)."""
        with self._lock:
            hosts = dict(self._hosts.get(incident_id, {}))
            progress = tuple(
                HostProgress(
                    host=name, total=h.total,
                    done=sum(1 for s in h.statuses.values() if s != "running"),
                    running=tuple(k for k, s in h.statuses.items() if s == "running"),
                    failed=tuple(k for k, s in h.statuses.items()
                                 if s in {"failed", "timed-out"}),
                    finished=h.finished, error=h.error,
                    signature=h.report.signature if h.report else None,
                    version=deployed_version(h.report) if h.report else None, zone=h.zone)
                for name, h in sorted(hosts.items()))
            lead = _lead(hosts)
            files = tuple(self._files.get(incident_id, ()))
        if lead is None:
            return None, None, progress, files
        return hosts[lead].report, lead, progress, files

    def _host(self, incident_id: int, host: str) -> _Host:
        return self._hosts.setdefault(incident_id, {}).setdefault(host, _Host(total=0))


def _lead(hosts: dict[str, _Host]) -> str | None:
    """The host whose evidence leads the report: crashes first, then most facts."""
    reports = {name: h.report for name, h in hosts.items() if h.report is not None}
    if not reports:
        return None
    return max(reports, key=lambda name: (bool(reports[name].crashes), len(reports[name].facts),
                                          name))


def _gist(report: DecodedReport) -> tuple[object, ...]:
    return (report.signature, len(report.crashes), len(report.facts),
            tuple(r.action for r in report.recommendations))


def deployed_version(report: DecodedReport) -> str | None:
    """The service's version on the host (its last deploy), else its binary's build-id."""
    version = next((f.version for f in reversed(report.facts)
                    if isinstance(f, Deploy) and f.version), None)
    if version is not None:
        return version
    build_id = next((f.build_id for f in report.facts if isinstance(f, BuildId)), None)
    return f"build-id {build_id}" if build_id is not None else None
