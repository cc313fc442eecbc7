"""Each failure mode of a simulated host is reported for that host, and the other hosts'
results arrive without waiting for it (the order of completion shows it; nothing is timed)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

from bot.app.diagnose import HostDiagnosis, Inventory, Limits, diagnose_fleet

from .commands import load_segfault_playbook
from .connector import connector
from .fleet import SERVICE, UNIT, address, running_fleet
from .simhost import BINARY, HostSpec

# A hung host holds its slot until segbot's own connect deadline; the others must not.
_DEFAULTS = {"connect_timeout": 8, "max_output_bytes": 1 << 20, "run_timeout": 60}


def _run(specs: list[HostSpec], workdir: Path) -> tuple[dict[str, HostDiagnosis], list[str]]:
    finished: list[str] = []  # hosts in the order their last step ended
    lock = threading.Lock()
    counts: dict[str, int] = {}
    playbook = load_segfault_playbook()

    def progress(host: str, step: str, status: str) -> None:
        if status == "running":
            return
        with lock:
            counts[host] = counts.get(host, 0) + 1
            if counts[host] == len(playbook.steps):
                finished.append(host)

    with running_fleet(specs, workdir, defaults=_DEFAULTS) as fleet:
        cfg, connect = connector(fleet.config_path)
        inventories = [Inventory(host=s.name, service=SERVICE, unit=UNIT, binary=BINARY,
                                 user="segbot") for s in specs]
        diagnoses = diagnose_fleet(
            connect=connect, playbook=playbook, inventories=inventories,
            evidence_dir=workdir / "evidence", now=datetime.now(UTC), progress=progress,
            limits=Limits(run_timeout=cfg.defaults.run_timeout, max_hosts=len(specs)))
    return {d.host: d for d in diagnoses}, finished


def test_each_failure_mode_is_reported_for_its_host_only(tmp_path: Path) -> None:
    modes = ["none", "refuse", "hang", "die", "flood", "wrong_key", "none"]
    specs = [HostSpec(name=f"{mode}-{i}", address=address(i), failure=mode,  # type: ignore[arg-type]
                      command_latency=0.02)
             for i, mode in enumerate(modes)]
    found, finished = _run(specs, tmp_path)

    for name in ("none-0", "none-6"):
        assert found[name].error is None, found[name].error
        assert found[name].report is not None and found[name].crashed
    # The flood is cut at segbot's 1 MiB cap while data still streams in; the rest of the
    # host's playbook runs on the same connection.
    flood = found["flood-4"]
    flooded = flood.outcome("journal")
    assert flood.error is None, flood.error
    assert flood.report is not None and flood.crashed
    assert flooded is not None and flooded.status == "ok" and flooded.truncated
    assert flooded.reason == "output truncated"
    assert len(flooded.output) <= 1 << 20
    assert all(o.status == "ok" for o in flood.steps if o.step != "journal")

    assert "unreachable" in (found["refuse-1"].error or "")
    assert "timed out" in (found["hang-2"].error or "")
    assert "host key CHANGED" in (found["wrong_key-5"].error or "")
    died = found["die-3"]
    assert "connection lost" in (died.error or "") or "unreachable" in (died.error or "")
    assert any(o.status == "ok" for o in died.steps)  # what it said before dying is kept
    # A command in flight when the host died fails, or (on a loaded machine, when the drop is
    # seen late) reaches its own deadline; none is left unrecorded.
    assert all(o.status in ("ok", "skipped", "failed", "timed-out") for o in died.steps)

    # Every working host finished before the hung host's connect deadline let it go.
    assert finished.index("hang-2") > max(finished.index(h)
                                          for h in ("none-0", "none-6", "flood-4", "die-3"))


def test_many_flooding_hosts_are_each_cut_at_the_cap_on_a_live_connection(tmp_path: Path) -> None:
    """Closing a channel while its data still streams in must not hurt the connection."""
    specs = [HostSpec(name=f"flood-{i}", address=address(i), failure="flood",
                      command_latency=0.02) for i in range(12)]
    found, _ = _run(specs, tmp_path)

    for name, diagnosis in found.items():
        flooded = diagnosis.outcome("journal")
        assert diagnosis.error is None, (name, diagnosis.error)
        assert flooded is not None and flooded.truncated, name
        assert all(o.status == "ok" for o in diagnosis.steps if o.step != "journal"), name
