"""A program with its own crash handler (systemd, MariaDB, gnome-shell) is signed by the frame
that faulted, not by the handler's kill/raise; the published pastes in tests/corpus say so."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain.decode import decode_text

CASES = Path(__file__).resolve().parents[1] / "corpus" / "cases"


@pytest.mark.parametrize(("case", "signature"), [
    ("systemd-v247-pid1-handler-coredumpctl", "SIGSEGV unit_unwatch_pid"),
    ("systemd-gdb-core-generated-cut-signal-handler", "SIGSEGV __pthread_create_2_1"),
    ("mariadb-coro-gdb-handle-fatal-signal-wrapped-frames", "crash list_add"),
    ("myrocks-gdb-signal-handler-frame-with-address", "crash key_unpack"),
    ("gnome-shell-coredumpctl-trap-gjs-handler-restore-rt", "SIGTRAP g_log_structured_array"),
    ("qk4-coredumpctl-crashing-thread-not-pid", "SIGSEGV pw_stream_dequeue_buffer"),
])
def test_signature_names_the_frame_that_faulted(case: str, signature: str) -> None:
    report = decode_text((CASES / f"{case}.txt").read_text(encoding="utf-8"))
    assert report.signature == signature
