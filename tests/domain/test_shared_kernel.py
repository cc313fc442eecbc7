"""A container's kernel log is its machine's: on a healthy lab container (outputs recorded from
one, tests/fleet/recorded/healthy) the kernel lines are its neighbours' crashes, not its own."""

from __future__ import annotations

import json
from pathlib import Path

from bot.domain.decode import Section, decode_sections
from bot.domain.evidence import Container

RECORDED = Path(__file__).resolve().parents[1] / "fleet/recorded/healthy/outputs.json"
STEPS = {"kernel": "kernel", "journal": "journal", "restart_policy": "systemctl_show"}


def _sections(virt: str | None) -> list[Section]:
    answers = json.loads(RECORDED.read_text())["answers"]
    sections = [Section(output=answers[step]["stdout"].replace("{hostname}", "fine"),
                        parser=parser) for step, parser in STEPS.items()]
    if virt is not None:
        sections.append(Section(output=virt, parser="virt"))
    return sections


def test_a_healthy_container_has_no_crash_of_its_own() -> None:
    report = decode_sections(_sections("systemd-nspawn\n"), host="fine")
    assert [f.name for f in report.facts if isinstance(f, Container)] == ["systemd-nspawn"]
    assert report.crashes == () and report.signature is None
    assert report.classification is None
    assert report.machine_kernel_lines > 10
    assert f"{report.machine_kernel_lines} kernel line(s) that no core" in report.determinism.text
    # RestartSec=200ms but NRestarts=0: a risk, not a storm; nothing to contain.
    assert report.restart_storm is not None and not report.restart_storm.storm
    # Nothing crashed here: no containment, and its running version is no suspect.
    assert not {r.action for r in report.recommendations} & {
        "restart_delay", "run_sanitizers", "rollback", "disable_flag"}


def test_outside_a_container_the_kernel_log_is_the_hosts_own() -> None:
    for virt in (None, "none\n"):
        report = decode_sections(_sections(virt), host="fine")
        assert report.machine_kernel_lines == 0
        assert report.crashes and all(c.sources == ("kernel",) for c in report.crashes)
