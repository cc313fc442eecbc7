"""The signature is stable across hosts, pids and load addresses, and readable."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain.decode import Section, decode_sections
from bot.domain.signature import normalize_function


def _signature(kernel_line: str) -> str | None:
    return decode_sections([Section(output=kernel_line, parser="kernel")]).signature


def test_same_bug_other_host_pid_and_aslr_base() -> None:
    one = _signature("a[1]: segfault at 38 ip 000055c1b2f9a4d2 sp 00007ffd7b5d1a10 error 4 "
                     "in checkout-api[55c1b2f82000+3e0000]")
    two = _signature("Jan 22 03:11:07 node-18 kernel: a[99]: segfault at 38 ip 00005600000184d2 "
                     "sp 00007ffe00000000 error 4 in checkout-api[560000000000+3e0000]")
    assert one == two == "SIGSEGV checkout-api+0x184d2"


def test_library_machinery_is_skipped_in_an_abort() -> None:
    gdb = """Program terminated with signal SIGABRT, Aborted.
#0  __pthread_kill_implementation (threadid=1, signo=6, no_tid=0) at ./nptl/pthread_kill.c:44
#1  0x00007f11 in __GI_raise (sig=6) at ../sysdeps/posix/raise.c:26
#2  0x00007f12 in __GI_abort () at ./stdlib/abort.c:79
#3  0x00007f13 in __assert_fail_base (fmt=0x0) at ./assert/assert.c:92
#4  0x0000555500001234 in Ledger::post<Entry>(Entry const&) (this=0x0) at ledger.cc:10
#5  0x0000555500001300 in main () at main.cc:3"""
    report = decode_sections([Section(output=gdb, parser="gdb")])
    assert report.signature == "SIGABRT Ledger::post"


@pytest.mark.parametrize(("raw", "normal"), [
    ("PricingRule::apply(Order const&) const", "PricingRule::apply"),
    ("std::vector<int, std::allocator<int> >::at(unsigned long)", "std::vector::at"),
    ("ns::Foo<int>::bar[abi:cxx11](int) [clone .cold]", "ns::Foo::bar"),
    ("checkout::handler::h0123456789abcdef", "checkout::handler"),
    ("apply_rule", "apply_rule"),
    ("operator<<(std::ostream&, Money const&)", "operator<<"),
    ("std::vector<int, std::allocator<int> >::operator[](unsigned long)",
     "std::vector::operator[]"),
    ("Cart::operator()(Item const&) const", "Cart::operator()"),
])
def test_function_names_are_normalized(raw: str, normal: str) -> None:
    assert normalize_function(raw) == normal


def test_different_sites_mean_memory_corruption() -> None:
    lines = "\n".join([
        "a[1]: segfault at 7f0000001000 ip 000055c1b2f9a4d2 sp 00007ffd7b5d1a10 error 4 "
        "in svc[55c1b2f82000+3e0000]",
        "a[2]: segfault at 7f0000002000 ip 000055c1b2f9b000 sp 00007ffd7b5d1a10 error 6 "
        "in svc[55c1b2f82000+3e0000]",
    ])
    report = decode_sections([Section(output=lines, parser="kernel")])
    assert report.classification is not None
    assert report.classification.kind == "memory-corruption-suspected"
    assert report.determinism.verdict == "varies"
    assert "run_sanitizers" in {r.action for r in report.recommendations}


def test_same_site_twice_is_deterministic() -> None:
    line = ("a[{pid}]: segfault at 38 ip 000055c1b2f9a4d2 sp 00007ffd7b5d1a10 error 4 "
            "in svc[55c1b2f82000+3e0000]")
    report = decode_sections([Section(output=f"{line.format(pid=1)}\n{line.format(pid=2)}",
                                      parser="kernel")])
    assert report.determinism.verdict == "deterministic"
    assert report.classification is not None and report.classification.kind == "null-deref"


def test_focus_leaves_out_other_programs() -> None:
    from bot.domain.decode import Focus

    dmesg = "\n".join([
        "[1.0] neighbour[5]: segfault at 0 ip 0000000000001000 sp 00007ffd7b5d1a10 error 14",
        "[2.0] checkout-api[7]: segfault at 38 ip 000055c1b2f9a4d2 sp 00007ffd7b5d1a10 error 4 "
        "in checkout-api[55c1b2f82000+3e0000]",
    ])
    report = decode_sections([Section(output=dmesg, parser="kernel")],
                             focus=Focus(process="checkout-api"))
    assert [c.pid for c in report.crashes] == [7]
    assert report.signature == "SIGSEGV checkout-api+0x184d2"


def test_kernel_6x_line_signs_with_the_file_offset_like_coredumpctl() -> None:
    kernel = ("[631.0] threads[32669]: segfault at 0 ip 0000561f4c8e31e0 sp 00007f8e4a61bec0 "
              "error 4 in threads[11e0,561f4c8e3000+1000] likely on CPU 0 (core 0, socket 0)")
    assert _signature(kernel) == "SIGSEGV threads+0x11e0"


def test_each_exit_of_a_crash_loop_is_its_own_crash() -> None:
    journal = "\n".join(
        f"Nov 26 04:59:4{n} vm systemd[1]: checkout-api.service: Main process exited, "
        "code=dumped, status=11/SEGV" for n in range(5))
    report = decode_sections([Section(output=journal, parser="journal")],
                             now=datetime(2026, 11, 26, tzinfo=UTC))
    assert len(report.crashes) == 5
    same_second = "\n".join(f"{line[:14]}0{line[15:]}" for line in journal.splitlines())
    assert same_second.count("04:59:40") == 5
    report = decode_sections([Section(output=same_second, parser="journal")],
                             now=datetime(2026, 11, 26, tzinfo=UTC))
    assert len(report.crashes) == 5
    assert all(c.unit == "checkout-api.service" for c in report.crashes)


def test_alert_message_decoding_agrees_with_the_full_report() -> None:
    from bot.domain.decode import decode_message, decode_text

    for message in [
        "Jan 22 03:11:07 node-17 kernel: checkout-api[24891]: segfault at 38 ip "
        "000055c1b2f9a4d2 sp 00007ffd7b5d1a10 error 4 in checkout-api[55c1b2f82000+3e0000]",
        "Jan 22 03:11:07 node-17 systemd[1]: checkout-api.service: Main process exited, "
        "code=dumped, status=11/SEGV",
        "not a crash at all",
    ]:
        crash, signature = decode_message(message, now=datetime(2026, 1, 22, tzinfo=UTC))
        report = decode_text(message, now=datetime(2026, 1, 22, tzinfo=UTC))
        assert signature == report.signature
        assert (crash.pid if crash else None) == (report.primary.pid if report.primary else None)


def test_a_program_path_cut_by_the_core_is_not_taken_for_the_executable() -> None:
    long = "/tmp/pytest-of-root/pytest-360/test_demo_runs_to_a_postmortem0/tmp/segbot-demo-x/bin/c"
    gdb = (f"[New LWP 7]\nCore was generated by `{long[:79]}'.\n"
           "Program terminated with signal SIGSEGV, Segmentation fault.\n#0  f () at x.c:1\n")
    crash = decode_sections([Section(output=gdb, parser="gdb")]).crashes[0]
    assert crash.executable is None and crash.command_line == long[:79]
