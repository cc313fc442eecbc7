"""Properties of the forms people paste crashes in: arm64 kernel faults, PID 1's own crash
handler, Markdown quotes and inline code, stamps before the comm, gdb's signal-handler frame."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.crash import site_frame
from bot.domain.decode import Section, decode_sections, decode_text
from bot.domain.parsers.registry import PARSERS
from bot.domain.signals import NAMES
from bot.domain.signature import crash_frame

PASTED = [
    "unhandled level 2 translation fault (11) at 0x",
    ", esr 0x92000006",
    "PC is at 0x",
    "pc : [<",
    ">] lr : [<",
    "Caught <SEGV>, dumped core as pid ",
    "Caught &lt;ABRT>, dumped core as pid ",
    "> ",
    ">",
    "`",
    "kernel: ",
    "traps: ",
    "ip (null) sp ",
    "[Switching to Thread 0x7f (LWP 5)]",
    "[Current thread is 1 (Thread 0x7f (LWP 5))]",
    'Thread 1 "mongod" received signal SIGSEGV, Segmentation fault.',
    "#2  <signal handler called>",
    "[KCrash Handler]",
    "Application: Plasma (plasmashell), signal: Aborted",
    "Thread 15 (Thread 0x7ff505392700 (LWP 1040)):",
    "#3  0x00007f in f () at /usr/lib/libc.so.6",
    "in ??? () at /usr/lib/libc.so.6",
    " n/a (/tmp/a.out)",
    "Failed with result ’core-dump’",
    "code=killed, status=9/KILL",
    "2024-05-22 21:15:56 ",
    "Sun Aug  9 13:47:00 2026 kern.info kernel: ",
    "[    7.900271 ] ",
    "\n",
    " ",
    "[",
    "]",
    "0",
    "1",
]
pasted_like = st.lists(
    st.one_of(st.sampled_from(PASTED), st.text(max_size=8)), max_size=50
).map("".join)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(text=pasted_like, expected=st.booleans())
def test_no_parser_raises_on_pasted_forms(text: str, expected: bool) -> None:
    for spec in PARSERS.values():
        assert spec.parse(text, year=None, host=None, expected=expected).skipped >= 0
    assert decode_text(text).unrecognized_lines >= 0


comm = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, blacklist_characters="[]`>"),
    min_size=1,
    max_size=15,
)
address = st.integers(min_value=0, max_value=2**48 - 1)


@settings(max_examples=200, deadline=None)
@given(comm=comm, pid=st.integers(1, 2**22), fault=address, pc=address, level=st.integers(0, 3),
       signo=st.sampled_from([7, 11]), old_pc=st.booleans(),
       stamp=st.sampled_from(["[  308.775514] ", "[    7.900271 ] ",
                              "Aug 17 16:49:07 localhost kernel: ", ""]))
def test_generated_arm64_faults_decode_back(comm: str, pid: int, fault: int, pc: int, level: int,
                                            signo: int, old_pc: bool, stamp: str) -> None:
    pc_line = f"pc : [<{pc:016x}>] lr : [<{pc:016x}>] pstate: 80000000" if old_pc \
        else f"PC is at 0x{pc:x}"
    text = (f"{stamp}{comm}[{pid}]: unhandled level {level} translation fault ({signo}) "
            f"at 0x{fault:08x}, esr 0x92000006\n{stamp}{pc_line}\n")
    report = decode_sections([Section(output=text, parser="kernel")])
    assert len(report.crashes) == 1
    crash = report.crashes[0]
    assert (crash.process, crash.pid, crash.fault_address, crash.ip) == (comm, pid, fault, pc)
    assert crash.signal == NAMES[signo]


@settings(max_examples=200, deadline=None)
@given(comm=comm, pid=st.integers(2, 2**22), fault=address, delta=st.integers(0, 0xFFFF),
       quote=st.sampled_from(["> ", ">> ", "> > ", " > "]),
       inline=st.booleans())
def test_markdown_quotes_and_inline_code_do_not_change_a_kernel_line(
    comm: str, pid: int, fault: int, delta: int, quote: str, inline: bool
) -> None:
    base = 0x7F0000000000
    line = (f"kernel: {comm}[{pid}]: segfault at {fault:x} ip {base + delta:016x} "
            f"sp 00007ffd7b5d1a10 error 4 in libc.so.6[{base:x}+200000]")
    pasted = f"{quote}`{line}`" if inline else f"{quote}{line}"
    plain, quoted = decode_text(line).crashes, decode_text(pasted).crashes
    assert len(plain) == len(quoted) == 1
    fields = ("process", "pid", "fault_address", "ip", "module", "module_offset")
    assert [getattr(quoted[0], f) for f in fields] == [getattr(plain[0], f) for f in fields]
    assert quoted[0].process == comm


@settings(max_examples=100, deadline=None)
@given(signal=st.sampled_from(["SEGV", "ABRT", "BUS", "ILL", "FPE"]), child=st.integers(2, 2**22),
       prefix=st.sampled_from(["", "May 16 12:59:57 systemd[1]: ", "> systemd[1]: ",
                               "Sep 02 20:13:26 <server> systemd[1]: "]),
       entity=st.booleans())
def test_pid1_caught_signal_is_a_crash_of_pid1(signal: str, child: int, prefix: str,
                                               entity: bool) -> None:
    opening = "&lt;" if entity else "<"
    report = decode_text(f"{prefix}Caught {opening}{signal}>, dumped core as pid {child}.\n")
    found = [(c.pid, c.process, c.signal) for c in report.crashes]
    assert found == [(1, "systemd", f"SIG{signal}")]


@settings(max_examples=100, deadline=None)
@given(depth=st.integers(0, 4), site=st.from_regex(r"[a-z_]{1,12}", fullmatch=True))
def test_the_frame_after_a_signal_handler_is_the_crash_site(depth: int, site: str) -> None:
    handler = [f"#{i}  0x00007f000000{i:04x} in handler_{i} () at h.c:{i + 1}"
               for i in range(depth)]
    lines = [*handler, f"#{depth}  <signal handler called>",
             f"#{depth + 1}  0x0000555500001000 in {site} () at s.c:7",
             f"#{depth + 2}  0x0000555500002000 in main () at s.c:9"]
    text = "Program terminated with signal SIGSEGV, Segmentation fault.\n" + "\n".join(lines)
    crash = decode_sections([Section(output=text, parser="gdb")]).crashes[0]
    frame = crash_frame(crash)
    assert frame is not None and frame.function == site
    assert crash.ip == 0x555500001000
    assert site_frame(()) is None


@settings(max_examples=100, deadline=None)
@given(threads=st.lists(st.integers(2, 2**22), min_size=1, max_size=5, unique=True),
       pick=st.integers(0, 4), site=st.from_regex(r"[a-z_]{1,12}", fullmatch=True))
def test_the_thread_with_the_kcrash_handler_is_the_crashing_one(threads: list[int], pick: int,
                                                                site: str) -> None:
    crashed = threads[pick % len(threads)]
    blocks = []
    for number, lwp in enumerate(threads, start=1):
        frames = ["[KCrash Handler]", f"#5  0x0000555500001000 in {site} () at /usr/lib/libx.so"] \
            if lwp == crashed else ["#0  0x00007f0000000001 in poll () at /usr/lib/libc.so.6"]
        blocks.append(f"Thread {number} (Thread 0x7f{number:x} (LWP {lwp})):\n" + "\n".join(frames))
    text = ("Application: Plasma (plasmashell), signal: Segmentation fault\n"
            f"[Current thread is 1 (Thread 0x7f1 (LWP {threads[0]}))]\n\n" + "\n\n".join(blocks))
    crash = decode_sections([Section(output=text, parser="gdb")]).crashes[0]
    frame = crash_frame(crash)
    found = (crash.crashing_thread, crash.signal, crash.process)
    assert found == (crashed, "SIGSEGV", "plasmashell")
    assert frame is not None and frame.function == site and frame.module == "libx.so"
