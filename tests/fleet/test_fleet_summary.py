"""A fan-out over many hosts reads as a summary: per signature, version and AZ, the outliers,
and every host in a table file, not one report per host."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main

from .fleet import SERVICE, address, running_fleet
from .simhost import HostSpec


def test_many_hosts_print_a_summary_and_write_the_table(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hosts = [HostSpec(name=f"web-{i:02d}", address=address(i), az=f"az-{i % 3 + 1}",
                      version="2.19.0" if i % 4 == 0 else "2.18.7",
                      profile="healthy" if i in (1, 7) else "crashing",
                      failure="refuse" if i == 5 else "none")
             for i in range(12)]
    with running_fleet(hosts, tmp_path) as fleet, pytest.raises(SystemExit) as exited:
        main(["diagnose", "--config", str(fleet.config_path), SERVICE])
    out = capsys.readouterr().out
    assert exited.value.code == 1  # one host unreachable
    lines = out.splitlines()
    assert lines[0] == "12 hosts: 9 crashing, 2 healthy, 1 unreachable"
    assert lines[1] == "signatures: SIGSEGV price_v4 on 9"
    assert lines[2] == "versions: 2.18.7 6/8 crashing; 2.19.0 3/3 crashing"
    assert lines[3].startswith("AZs: az-1 ") and "az-3" in lines[3]
    assert any(line.startswith("outlier web-05: ") and "unreachable" in line for line in lines)
    assert "web-00 / checkout-api" not in out  # no per-host report
    table = Path(next(line for line in lines if line.startswith("every host: "))
                 .removeprefix("every host: "))
    rows = table.read_text().splitlines()
    assert len(rows) == 13 and rows[0].startswith("host\taz\tversion")
    assert "web-05\taz-3\tunknown\tunreachable\t" in table.read_text()
