"""One crash site however it is named, and evidence health that reads the service's limits.

`data/lab-null-deref.txt` is a lab host's real output: two unsymbolized kernel lines
(checkout-api+0x13f0), coredumpctl's frame #0 `price_v4 (checkout-api + 0x13f0)`, the unit's
LimitCORE=infinity and the SSH login's `ulimit -c` of 0."""

from __future__ import annotations

from pathlib import Path

from bot.domain.crash import Crash
from bot.domain.decode import decode_text
from bot.domain.sites import count_sites
from bot.domain.triage import determinism

PASTE = (Path(__file__).parent / "data" / "lab-null-deref.txt").read_text()
KERNEL = ("[Thu Dec  3 07:37:{s:02d} 2026] checkout-api[{pid}]: segfault at 8 ip {ip:016x} sp "
          "00007ffd06752a90 error 4 in checkout-api[{off:x},{base:x}+1000] likely on CPU 0 "
          "(core 0, socket 0)\n")


def _kernel(pid: int, offset: int, second: int) -> str:
    base = 0x55A3020FE000 + pid * 0x1000000
    return KERNEL.format(s=second, pid=pid, ip=base + (offset & 0xFFF), off=offset, base=base)


def test_kernel_offset_and_symbolized_frame_are_one_site() -> None:
    report = decode_text(PASTE)
    assert count_sites(report.crashes).count == 1
    assert report.classification is not None
    assert (report.classification.kind, report.classification.confidence) == ("null-deref", "high")
    assert report.determinism.verdict == "deterministic"
    assert "same site" in report.determinism.text and "price_v4" in report.determinism.text
    actions = [r.action for r in report.recommendations]
    assert "run_sanitizers" not in actions


def test_login_shell_ulimit_is_no_core_capture_alarm() -> None:
    report = decode_text(PASTE)
    assert report.health == ()
    assert "raise_core_limit" not in [r.action for r in report.recommendations]


def test_service_limit_zero_without_a_core_is_an_alarm() -> None:
    text = ("$ systemctl show checkout-api.service -p LimitCORE -p LimitCORESoft\n"
            "LimitCORE=infinity\nLimitCORESoft=0\n$ ulimit -c\nunlimited\n")
    report = decode_text(text)
    assert [n.problem for n in report.health] == ["core_limit_zero"]
    assert "the service's" in report.health[0].text


def test_a_present_core_outweighs_a_zero_limit() -> None:
    text = PASTE.replace("LimitCORESoft=infinity", "LimitCORESoft=0")
    report = decode_text(text)
    assert "core_limit_zero" not in [n.problem for n in report.health]


def test_offsets_that_differ_in_one_module_are_two_sites() -> None:
    report = decode_text(_kernel(101, 0x13F0, 1) + _kernel(102, 0x1420, 2))
    sites = count_sites(report.crashes)
    assert sites.count == 2 and set(sites.names) == {"checkout-api+0x13f0", "checkout-api+0x1420"}
    assert report.determinism.verdict == "varies"
    assert report.classification is not None
    assert report.classification.kind == "memory-corruption-suspected"
    assert "checkout-api+0x1420" in report.classification.evidence[0]
    sanitize = [r for r in report.recommendations if r.action == "run_sanitizers"]
    assert sanitize and "checkout-api+0x13f0" in sanitize[0].reason


def test_same_offsets_repeated_are_one_site() -> None:
    report = decode_text("".join(_kernel(200 + n, 0x13F0, n) for n in range(4)))
    assert report.determinism.verdict == "deterministic"
    assert report.classification is not None and report.classification.kind == "null-deref"


def test_a_neighbours_kernel_line_is_not_another_site_of_this_host() -> None:
    """The lab's kernel log is the machine's: another program named checkout-api (the demo's
    build, crashing at +0x1334) shows up next to this host's core at +0x13f0."""
    report = decode_text(PASTE + "$ sudo dmesg -T\n" + _kernel(301, 0x1334, 5))
    sites = count_sites(report.crashes)
    assert (sites.count, sites.unmatched) == (1, 1)
    assert report.determinism.verdict == "deterministic"
    assert "1 kernel line(s) at sites none of this host's cores" in report.determinism.text
    assert report.classification is not None and report.classification.kind == "null-deref"


def test_core_pattern_elsewhere_is_said_only_without_a_core() -> None:
    no_core = decode_text("$ cat /proc/sys/kernel/core_pattern\ncore\n")
    assert [n.problem for n in no_core.health] == ["core_elsewhere"]
    piped = decode_text("$ cat /proc/sys/kernel/core_pattern\n|/usr/share/apport/apport -p%p\n")
    assert "apport" in piped.health[0].text
    assert decode_text(PASTE + "$ cat /proc/sys/kernel/core_pattern\ncore\n").health == ()


def test_a_neighbours_older_kernel_line_does_not_start_the_crash_window() -> None:
    """The deploy at 07:30 came before this host's first crash (its core, 07:33:56); a
    neighbour's kernel line at 07:20 must not make it look like it came after."""
    journal = ("$ journalctl -u checkout-api.service --no-pager -o short-iso\n"
               "2026-12-03T07:30:00+00:00 lab-a checkout-api[80]: version=2.18.7 git=4f3c2a1 "
               "feature_flags=pricing_v4:on\n")
    neighbour = "$ sudo dmesg -T\n" + _kernel(301, 0x1334, 5).replace("07:37:", "07:20:")
    report = decode_text(PASTE + journal + neighbour)
    deploys = [c for c in report.changes if c.kind == "deploy"]
    assert [(c.name, c.minutes_before) for c in deploys] == [("2.18.7", 3.9)]


def test_one_located_crash_among_several_records_says_how_many_could_not_tell() -> None:
    located = Crash(sources=("kernel",), signal="SIGSEGV", module="checkout-api",
                    module_offset=0x1334, file_offset=0x1334)
    exits = [Crash(sources=("journal",), signal="SIGSEGV", pid=pid) for pid in (7, 8)]
    verdict = determinism([located, *exits])
    assert verdict.verdict == "single"
    assert verdict.text.startswith("only 1 of 3 crash records names its site (checkout-api+0x1334)")
    assert determinism([located]).text.startswith("one crash with a known site")
