"""Verification counts only what it could count, and an action's report says only what really
changed. The sudo and coredumpctl answers are the real programs' words (lab host, bookworm)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain.conclude import reconclude, with_unit_state
from bot.domain.containment import changed_text
from bot.domain.decode import decode_text
from bot.domain.verification import (
    HostCount,
    ask_for_the_table,
    read_crash_count,
    verification_verdict,
)

SUDO_REFUSED = "sudo: a password is required\n"
NONE_FOUND = "No coredumps found.\n"
ROWS = ("Thu 2026-12-03 07:33:53 UTC 29 999 996 SIGSEGV present /opt/checkout/bin/checkout-api "
        "16.7K\nThu 2026-12-03 07:33:54 UTC 48 999 996 SIGSEGV present "
        "/opt/checkout/bin/checkout-api 16.8K\n")


def test_a_refused_count_is_no_count() -> None:
    refused = read_crash_count("node-17", exit_status=1, stdout="", stderr=SUDO_REFUSED)
    assert refused.count is None and refused.reason == "exit 1: sudo: a password is required"
    assert read_crash_count("node-17", exit_status=1, stdout="", stderr=NONE_FOUND).count == 0
    assert read_crash_count("node-17", exit_status=0, stdout=ROWS, stderr="").count == 2
    assert read_crash_count("node-17", exit_status=None, stdout="", stderr="").count is None


def test_a_crash_in_the_actions_own_second_is_the_old_processs() -> None:
    """--since reads when a core was logged (late under load); the listed time is the crash's,
    in whole seconds: 07:33:54 may be before or after 07:33:54.4."""
    same_second = datetime(2026, 12, 3, 7, 33, 54, 400000, tzinfo=UTC)
    counted = read_crash_count("node-17", exit_status=0, stdout=ROWS, stderr="",
                               since=same_second.replace(second=53))
    assert counted.count == 1 and [c.pid for c in counted.cores] == [48]
    counted = read_crash_count("node-17", exit_status=0, stdout=ROWS, stderr="",
                               since=same_second)
    assert counted.count == 0 and counted.cores == ()


def test_verdicts() -> None:
    refused = HostCount("node-17", None, "exit 1: sudo: a password is required")
    text = verification_verdict(action="restart_delay", stored=0, hosts=[refused], seconds=600)
    assert text.startswith("not verified since the restart delay")
    assert "crash-free" not in text and "sudo: a password is required" in text
    text = verification_verdict(action="rollback", stored=3, hosts=[refused], seconds=600)
    assert text.startswith("still crashing: at least 3 since the rollback")
    counted = [HostCount("node-17", 2), HostCount("node-18", 0)]
    assert verification_verdict(action="restart_delay", stored=1, hosts=counted,
                                seconds=60) == "still crashing: 2 since the restart delay"
    assert verification_verdict(action="rollback", stored=0, hosts=[HostCount("a", 0)],
                                seconds=600) == "crash-free for 10 minutes since the rollback"
    assert verification_verdict(action="rollback", stored=0, hosts=None,
                                seconds=120) == "crash-free for 2 minutes since the rollback"


def test_only_real_changes_are_listed() -> None:
    before = {"RestartUSec": "200ms", "StartLimitIntervalUSec": "10s", "StartLimitBurst": "5",
              "LimitCORE": "infinity", "NRestarts": "5"}
    after = {"RestartUSec": "30s", "StartLimitIntervalUSec": "10min", "StartLimitBurst": "5",
             "LimitCORE": "infinity", "NRestarts": "0"}
    assert changed_text(before, after) == "RestartUSec 200ms -> 30s, StartLimitIntervalUSec " \
                                          "10s -> 10min"
    assert changed_text(after, after).startswith("no setting changed (RestartUSec=30s")
    assert changed_text(before, {}) == "state after the change could not be read"


def test_the_report_shows_the_unit_as_re_read_after_the_action() -> None:
    report = reconclude(decode_text(
        "$ systemctl show checkout-api.service -p Restart -p RestartUSec -p NRestarts\n"
        "Restart=always\nRestartUSec=200ms\nNRestarts=5\n"))
    assert report.restart_storm is not None and report.restart_storm.storm
    assert "restart_delay" in [r.action for r in report.recommendations]
    after = with_unit_state(report, "Id=checkout-api.service\nRestart=always\n"
                                    "RestartUSec=30s\nNRestarts=0\nLimitCORE=infinity\n")
    assert after.restart_storm is not None
    assert "RestartSec=30s" in after.restart_storm.describe() and not after.restart_storm.storm
    assert "restart_delay" not in [r.action for r in after.recommendations]


JSON_ROWS = ('[{"time":1796295668314478,"pid":29,"uid":999,"gid":996,"sig":11,"corefile":"present",'
             '"exe":"/opt/checkout/bin/checkout-api","size":17252},{"time":1796295668896397,"pid":52,'
             '"uid":999,"gid":996,"sig":11,"corefile":"present","exe":"/opt/checkout/bin/checkout-api",'
             '"size":17240}]\n')


def test_microsecond_crash_times_place_a_crash_in_the_actions_own_second() -> None:
    """`--json=short` (lab host, bookworm): both crashes are in second 08; the action ended
    between them."""
    between = datetime.fromtimestamp(1796295668.5, tz=UTC)
    counted = read_crash_count("node-17", exit_status=0, stdout=JSON_ROWS, stderr="",
                               since=between)
    assert counted.count == 1 and [c.pid for c in counted.cores] == [52]


def test_a_failed_json_count_is_asked_again_as_the_table() -> None:
    """Old systemd answers --json= with getopt's words; an old sudoers refuses it."""
    assert ask_for_the_table(1, "coredumpctl: unrecognized option '--json=short'\n")
    assert ask_for_the_table(1, SUDO_REFUSED)
    assert not ask_for_the_table(1, "No coredumps found.\n")
    assert not ask_for_the_table(0, "")
    assert not ask_for_the_table(None, "")  # timed out: asking again would only wait again
