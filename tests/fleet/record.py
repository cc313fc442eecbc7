"""Re-record `recorded/` from real lab hosts (as root, with the lab's tarball):

    sudo .venv/bin/python -m tests.fleet.record

Boots a crashing and a healthy lab host, lets the crash loop end, runs segbot's real diagnose
over real SSH through a runner that keeps every answer, and writes the answers templated.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the suite's helper packages

from lab import cgroups, factory, rootfs
from lab.host import LabHost

from bot.adapters.ssh import SshRunner
from bot.app.diagnose import Inventory, diagnose_host
from bot.app.ports.hosts import CommandResult, Fetched
from bot.config import Target

from .commands import REMOVE_CORE, Matcher, load_segfault_playbook
from .recording import RECORDED, templated, verdict

SERVICE, UNIT, BINARY = "checkout-api", "checkout-api.service", "/opt/checkout/bin/checkout-api"
_VERSION = re.compile(r"version=(\S+)")
_BUILD_ID = re.compile(r"Build ID: ([0-9a-f]+)")


class Recorder:
    """segbot's SshRunner, keeping each command's answer and each copied file."""

    def __init__(self, inner: SshRunner) -> None:
        self.inner = inner
        self.answers: list[tuple[str, CommandResult]] = []
        self.files: dict[str, bytes] = {}
        self.fetch_seconds: dict[str, float] = {}

    def run(self, command: str, *, timeout: float) -> CommandResult:
        result = self.inner.run(command, timeout=timeout)
        self.answers.append((command, result))
        return result

    def fetch(self, remote: str, local: Path, *, max_bytes: int, timeout: float) -> Fetched:
        started = time.monotonic()
        fetched = self.inner.fetch(remote, local, max_bytes=max_bytes, timeout=timeout)
        self.files[remote] = local.read_bytes()
        self.fetch_seconds[remote] = time.monotonic() - started
        return fetched

    def close(self) -> None:
        self.inner.close()


def record(host: LabHost, profile: str, work: Path) -> None:
    if profile == "crashing":
        host.wait_for_crash_loop_end(timeout=90)
    playbook = load_segfault_playbook()
    target = Target(name=host.name, address=host.address, port=host.port, user=host.user,
                    identity_file=host.identity_file, known_hosts=host.known_hosts, sudo=True)
    runner = Recorder(SshRunner(target))
    inventory = Inventory(host=host.name, service=SERVICE, unit=UNIT, binary=BINARY,
                          user=host.user)
    diagnosis = diagnose_host(runner=runner, playbook=playbook, inventory=inventory,
                              evidence_dir=work / profile, now=datetime.now(UTC))
    failed = [(o.step, o.reason) for o in diagnosis.steps if o.status != "ok"]
    if profile == "crashing" and failed:
        raise SystemExit(f"{host.name}: steps not ok on a crashing host: {failed}")
    matcher = Matcher(playbook)
    texts = "\n".join(r.stdout for _, r in runner.answers)
    values = {"hostname": host.name,
              "version": (_VERSION.findall(texts) or ["2.18.7"])[-1],
              "build_id": (_BUILD_ID.findall(texts) or [""])[0]}
    core_path = next((m.values["core_path"] for c, _ in runner.answers
                      if (m := matcher.match(c.removeprefix("sudo -n "))) is not None
                      and m.step == "dump_core"), "")
    values["core_path"] = core_path
    answers: dict[str, dict[str, Any]] = {}
    for command, result in runner.answers:
        matched = matcher.match(command.removeprefix("sudo -n "))
        if matched is None:
            raise SystemExit(f"no step matches {command!r}")
        step = matched.step
        if step == "core_sha256" and matched.values.get("core_path") == BINARY:
            step = "binary_sha256"
        answers[step] = {"stdout": templated(result.stdout, values),
                         "stderr": templated(result.stderr, values),
                         "exit_status": result.exit_status if result.exit_status is not None
                         else 1, "duration": round(result.duration, 3)}
    answers.setdefault(REMOVE_CORE, {"stdout": "", "stderr": "", "exit_status": 0,
                                     "duration": 0.0})
    folder = RECORDED / profile
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "binary").write_bytes(runner.files[BINARY])
    (folder / "core.gz").write_bytes(gzip.compress(runner.files.get(core_path, b""), 9, mtime=0))
    data = {"answers": answers, "recorded": values,
            "fetch_seconds": {"binary": round(runner.fetch_seconds[BINARY], 3),
                              "core": round(runner.fetch_seconds.get(core_path, 0.0), 3)},
            "verdict": verdict(diagnosis)}
    (folder / "outputs.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"{profile}: {len(answers)} answers, verdict {data['verdict']['signature']}")


def main() -> None:
    reason = factory.machine_ready()
    if reason:
        raise SystemExit(reason)
    session = factory.new_session()
    root = rootfs.prepare(session, core_pattern=Path("/proc/sys/kernel/core_pattern").read_text())
    made = factory.HostFactory(root, session)
    work = Path(tempfile.mkdtemp(prefix="fleet-record-"))
    try:
        crashing = made("fleetrec-crash", crashing=True)
        healthy = made("fleetrec-fine", crashing=False)
        record(crashing, "crashing", work)
        record(healthy, "healthy", work)
    finally:
        made.close()
        cgroups.remove_lab_root()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
