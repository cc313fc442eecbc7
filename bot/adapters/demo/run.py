"""`segbot demo`, end to end on this machine: a real service crash-loops under the demo
supervisor, the playbook runs through the local transport, the evidence is decoded and
symbolized, an incident is kept in SQLite, a containment action really slows the loop and is
verified, and the postmortem draft is written."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from bot.adapters.demo.supervisor import DemoSupervisor, Exit
from bot.app.diagnose import HostDiagnosis, Inventory, diagnose_host
from bot.app.incidents import IngestOutcome, ingest, record_event
from bot.app.ports.hosts import CommandRunner
from bot.app.ports.store import Store
from bot.app.report_view import Button, Decision, HostProgress, ReportView
from bot.config import default_playbook_path
from bot.domain.alerts import Occurrence
from bot.domain.incident import TimelineEvent
from bot.domain.playbook import load_playbook
from bot.domain.postmortem import draft_postmortem
from bot.domain.postmortem_render import to_markdown
from bot.domain.report_json import report_to_dict
from bot.errors import SegbotError

SERVICE = "checkout-api"
UNIT = "checkout-api.service"
FIRST_CRASHES = 3
SLOW_RESTART_USEC = 2_000_000
VERIFY_SECONDS = 4.0
PLAYBOOK = default_playbook_path("demo.yaml")

Say = Callable[[str], None]


@dataclass(frozen=True)
class DemoParts:
    """What the demo runs on, from the composition root."""

    open_store: Callable[[str], Store]  # database URL -> the incident store
    runner: Callable[[Path], CommandRunner]  # working directory -> the local transport
    report_blocks: Callable[[ReportView], list[dict[str, Any]]]  # as posted to Slack


@dataclass(frozen=True)
class DemoResult:
    incident_id: int
    diagnosis: HostDiagnosis
    crashes_before: int
    crashes_after: int
    seconds_before: float
    postmortem: Path
    postmortem_text: str
    report: dict[str, object]
    messages: tuple[tuple[str, list[dict[str, Any]]], ...]  # (title, Block Kit) as posted


def run_demo(*, parts: DemoParts, postmortem_path: Path, step: Say,
             keep: bool = False) -> DemoResult:
    with _workdir(keep) as workdir:
        binary = build_service(workdir, step)
        supervisor = DemoSupervisor(binary=binary, workdir=workdir, unit=UNIT)
        store = parts.open_store(f"sqlite:///{workdir / 'segbot.db'}")
        host = socket.gethostname().split(".")[0] or "localhost"
        supervisor.start()
        try:
            step(f"{SERVICE} is crash-looping under Restart=always, RestartSec=200ms")
            started = datetime.now(UTC)
            exits = supervisor.wait_for_exits(FIRST_CRASHES, timeout=20)
            if not exits:
                raise SegbotError("the demo service did not crash: is this machine x86-64 Linux?")
            outcome = _alert(store, host, exits)
            incident_id = outcome.results[0].incidents[0]
            step(f"{len(exits)} crash alerts -> incident #{incident_id}")
            diagnosis = _diagnose(parts.runner(workdir), workdir, binary, host, step)
            report = report_to_dict(diagnosis.report) if diagnosis.report else {}
            with store.transaction() as tx:
                tx.add_report(incident_id, host, json.dumps(report), datetime.now(UTC))
                if diagnosis.report and diagnosis.report.signature:
                    tx.set_signature(incident_id, diagnosis.report.signature)
            _event(store, incident_id, "diagnosis", f"diagnosis of {host} finished: "
                   f"{(report.get('classification') or {}).get('kind', 'unknown')}, "
                   f"signature {report.get('signature')}")
            messages = [("posted in #inc-" + f"{started:%Y%m%d}-{SERVICE}-sigsegv",
                         _report_blocks(parts, store, incident_id, diagnosis, host,
                                        decided=None))]
            step(f"containment: RestartSec 200ms -> {SLOW_RESTART_USEC // 1_000_000}s "
                 "(the supervisor's drop-in)")
            supervisor.set_restart_delay(SLOW_RESTART_USEC)
            # "Before" is what crashed before the action's own time, as the postmortem counts.
            acted = datetime.now(UTC)
            before = sum(1 for e in list(supervisor.exits) if e.time < acted)
            seconds_before = (acted - started).total_seconds()
            _event(store, incident_id, "action", f"restart delay set to "
                   f"{SLOW_RESTART_USEC // 1_000_000}s on {host} (was 200ms)", actor="demo-user",
                   at=acted)
            after = _count_after(supervisor, VERIFY_SECONDS)
            _event(store, incident_id, "verification",
                   f"{after} crash(es) in the {VERIFY_SECONDS:g}s after the restart delay, "
                   f"{before} in the {seconds_before:.1f}s before")
            step(f"verified: {after} crash(es) in {VERIFY_SECONDS:g}s after, "
                 f"{before} in {seconds_before:.1f}s before")
            decided = Decision(actor="demo-user", action="restart_delay", state="succeeded",
                               at=datetime.now(UTC), outcome=f"RestartSec 200ms -> "
                               f"{SLOW_RESTART_USEC // 1_000_000}s; {after} crash(es) in the "
                               f"next {VERIFY_SECONDS:g}s")
            messages.append(("the same message, edited after the click",
                             _report_blocks(parts, store, incident_id, diagnosis, host,
                                            decided)))
        finally:
            supervisor.stop()
        # Every later crash alerted too, as a real alert rule would: the postmortem counts
        # what the host saw, before and after the action.
        _alert(store, host, supervisor.exits[len(exits):])
        detail = store.incident_detail(incident_id)
        assert detail is not None
        text = to_markdown(draft_postmortem(detail, [(host, e.time) for e in supervisor.exits]))
        postmortem_path.write_text(text)
        step(f"postmortem draft written to {postmortem_path}")
        return DemoResult(incident_id, diagnosis, before, after, seconds_before,
                          postmortem_path, text, report, tuple(messages))


def build_service(workdir: Path, step: Say) -> Path:
    """Compile the demo service from source; without a compiler, use the shipped binary."""
    source = resources.files("bot") / "data" / "demo" / "checkout_api.c"
    binary = workdir / "bin" / SERVICE
    binary.parent.mkdir(parents=True, exist_ok=True)
    compiler = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if compiler:
        with resources.as_file(source) as path:
            done = subprocess.run([compiler, "-O2", "-g", "-fno-omit-frame-pointer", "-o",
                                   str(binary), str(path)], capture_output=True, text=True,
                                  check=False, timeout=120)
        if done.returncode == 0:
            step(f"built {SERVICE} from source with {Path(compiler).name} -O2 -g")
            return binary
        step(f"compiling failed ({done.stderr.strip()[:200]}); using the shipped binary")
    shipped = resources.files("bot") / "data" / "demo" / f"{SERVICE}.x86_64"
    with resources.as_file(shipped) as path:
        shutil.copyfile(path, binary)
    binary.chmod(0o755)
    step(f"using the shipped {SERVICE} binary (no C compiler found)")
    return binary


def _diagnose(runner: CommandRunner, workdir: Path, binary: Path, host: str,
              step: Say) -> HostDiagnosis:
    playbook = load_playbook(PLAYBOOK.read_text(), name="demo")
    inventory = Inventory(host=host, service=SERVICE, unit=UNIT, binary=str(binary),
                          user="demo", sudo=False)

    def progress(_host: str, step_id: str, status: str) -> None:
        if status != "running":
            step(f"  {playbook.step(step_id).title}: {status}")

    return diagnose_host(runner=runner, playbook=playbook, inventory=inventory,
                         evidence_dir=workdir / "evidence", now=datetime.now(UTC),
                         progress=progress)


def _report_blocks(parts: DemoParts, store: Store, incident_id: int, diagnosis: HostDiagnosis,
                   host: str, decided: Decision | None) -> list[dict[str, Any]]:
    """The incident's Slack report, built by the same code that posts it to Slack."""
    detail = store.incident_detail(incident_id)
    assert detail is not None
    failed = tuple(s.step for s in diagnosis.steps if s.status != "ok")
    buttons = () if decided else (
        Button("demo-1", "restart_delay", "Slow the restart loop", True, True),
        Button("demo-2", "disable_flag", "Disable pricing_v4", True, False),
        Button("demo-3", "rollback", "Roll back 2.18.7", True, False),
        Button("demo-4", "rerun", "Re-run diagnostics", False, True))
    view = ReportView(incident=detail.incident, report=diagnosis.report, report_host=host,
                      hosts=(HostProgress(host, len(diagnosis.steps), len(diagnosis.steps), (),
                                          failed, True),),
                      buttons=buttons, decisions=(decided,) if decided else ())
    return parts.report_blocks(view)


def _count_after(supervisor: DemoSupervisor, seconds: float) -> int:
    """Exits that start after the slower delay took effect (the restart already scheduled at
    200 ms is not the drop-in's doing)."""
    import time

    baseline = len(supervisor.exits)
    time.sleep(seconds)
    return max(0, len(supervisor.exits) - baseline - 1)


def _alert(store: Store, host: str, exits: Sequence[Exit]) -> IngestOutcome:
    occurrences = [Occurrence(source="generic", key=f"demo-{e.pid}", host=host, service=SERVICE,
                              status="firing", time=e.time, signal=e.signal, pid=e.pid)
                   for e in exits]
    return ingest(store=store, requests=[occurrences], now=datetime.now(UTC),
                  window=timedelta(minutes=10))


def _event(store: Store, incident_id: int, kind: str, text: str, actor: str = "segbot",
           at: datetime | None = None) -> None:
    record_event(store=store, incident_id=incident_id,
                 event=TimelineEvent(time=at or datetime.now(UTC), kind=kind, text=text,
                                     actor=actor, source="demo"))


@contextmanager
def _workdir(keep: bool) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="segbot-demo-"))
    try:
        yield path
    finally:
        if not keep:
            shutil.rmtree(path, ignore_errors=True)
