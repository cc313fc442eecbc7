"""Running `segbot` verbs in the test process, and the config the lab diagnose tests write."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from tests.lab.host import LabHost

SERVICE = {"unit": "checkout-api.service", "binary": "/opt/checkout/bin/checkout-api"}


def lab_config(tmp_path: Path, hosts: list[LabHost], *, known_hosts: Path | None = None) -> Path:
    """A segbot.yaml that reaches `hosts` over SSH for the lab's checkout-api."""
    lines = ["defaults:", f"  evidence_dir: {tmp_path / 'evidence'}", "  run_timeout: 120",
             "hosts:"]
    for host in hosts:
        entry: dict[str, Any] = host.ssh_config_entry()
        if known_hosts is not None:
            entry["known_hosts"] = str(known_hosts)
        lines.append(f"  {host.name}: {json.dumps(entry)}")
    lines += ["services:", "  checkout-api:", f"    unit: {SERVICE['unit']}",
              f"    binary: {SERVICE['binary']}",
              f"    hosts: {json.dumps([h.name for h in hosts])}"]
    path = tmp_path / "segbot.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """`segbot ARGV` in this process: exit status, stdout, stderr."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    out, err = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 1), out, err
