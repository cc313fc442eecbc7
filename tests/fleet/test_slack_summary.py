"""The Slack report of an incident on many hosts shows counts, signatures and the outliers,
and names the thread's table file, instead of a line per host."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.adapters.slack.blocks import report_message
from bot.app.fleet import FLEET_TABLE, progress_table
from bot.app.report_view import HostProgress, ReportView
from bot.domain.incident import Incident, Status

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def _hosts() -> tuple[HostProgress, ...]:
    def one(n: int) -> HostProgress:
        zone = f"use1-az{n % 3 + 1}"
        if n == 7:
            return HostProgress(f"web-{n:03d}", 22, 0, (), (), True, "timed out: no SSH answer",
                                zone=zone)
        if n % 5 == 0:  # the old version does not crash
            return HostProgress(f"web-{n:03d}", 22, 22, (), (), True, version="2.18.6",
                                zone=zone)
        signature = "SIGABRT in free" if n == 42 else "SIGSEGV price_v4"
        return HostProgress(f"web-{n:03d}", 22, 22, (), (), True, None, signature,
                            version="2.18.7", zone=zone)

    return tuple(one(n) for n in range(500))


def _text(hosts: tuple[HostProgress, ...], files: tuple[str, ...]) -> str:
    incident = Incident(id=3, service="checkout-api", signature="SIGSEGV price_v4",
                        status=Status.INVESTIGATING, occurrences=900,
                        hosts=tuple(h.host for h in hosts), opened_at=NOW, last_seen=NOW)
    blocks, _ = report_message(ReportView(incident, None, None, hosts, files=files))
    return str(blocks)


def test_five_hundred_hosts_read_as_a_summary_with_outliers() -> None:
    text = _text(_hosts(), (FLEET_TABLE,))
    assert "500 hosts: 500 done, 0 running, 1 stopped early" in text
    assert "`SIGSEGV price_v4` on 398 host(s)" in text and "`SIGABRT in free` on 1" in text
    assert "versions: `2.18.7` 399/399 crashing; `2.18.6` 0/100 crashing; `unknown` 0/1" in text
    assert "AZs: `use1-az1` 133/167 crashing; `use1-az2` 133/167 crashing; `use1-az3` 133/166" \
        in text
    assert "`web-007`" in text and "timed out" in text  # the outliers, by name
    assert "`web-042`" in text
    assert "`web-100`" not in text  # not a line per host
    assert f"every host: `{FLEET_TABLE}` in the thread" in text


def test_the_table_file_has_every_host() -> None:
    rows = progress_table(_hosts()).splitlines()
    assert len(rows) == 501
    assert rows[0].startswith("host\taz\tversion\t")
    assert rows[8] == ("web-007\tuse1-az2\tunknown\t0/22\tstopped early\t\t\t"
                       "timed out: no SSH answer")
    assert rows[43].startswith("web-042\tuse1-az1\t2.18.7\t22/22\tdone\tSIGABRT in free")
