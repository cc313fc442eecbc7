"""The paramiko CommandRunner against a real OpenSSH sshd on loopback."""

from __future__ import annotations

import os
import socket
import threading
import time
import tracemalloc
from pathlib import Path

import pytest

from bot.adapters.ssh import SshRunner
from bot.errors import ConnectFailed, HostKeyRejected, RemoteError
from tests.diagnose.sshd_server import Sshd, start_sshd, target_for


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_runs_commands_on_one_reused_connection(sshd: Sshd) -> None:
    runner = SshRunner(target_for(sshd))
    runner.connect()
    try:
        first = runner.run("echo out; echo err >&2; exit 3", timeout=10)
        assert (first.stdout, first.stderr, first.exit_status) == ("out\n", "err\n", 3)
        assert not first.timed_out and not first.truncated
        results = [runner.run(f"echo {i}", timeout=10) for i in range(10)]
        assert [r.stdout for r in results] == [f"{i}\n" for i in range(10)]
        assert runner.connections == 1
        transport = runner.connect()
        sock = transport.sock  # the TCP socket, behind a wrapper that buffers reads
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        # sshd offers AES-GCM: preferred over paramiko's CTR+HMAC default, both ways
        assert (transport.local_cipher, transport.remote_cipher) == (
            "aes128-gcm@openssh.com", "aes128-gcm@openssh.com")
    finally:
        runner.close()


def test_commands_share_a_worker_channel_and_keep_their_exact_output(sshd: Sshd) -> None:
    """One channel for a run of commands; each one's bytes, stderr and status exactly, even
    output without a final newline, empty output, or a line shaped like an end marker."""
    runner = SshRunner(target_for(sshd), max_output_bytes=1000)
    try:
        cases = [("printf 'no newline'", "no newline", "", 0), ("true", "", "", 0),
                 ("printf '\\n\\n'; echo e >&2; exit 7", "\n\n", "e\n", 7),
                 ("echo 'segbot-end-0123456789abcdef 0'; echo next",
                  "segbot-end-0123456789abcdef 0\nnext\n", "", 0)]
        for command, out, err, status in cases * 3:
            result = runner.run(command, timeout=10)
            assert (result.stdout, result.stderr, result.exit_status) == (out, err, status)
        assert runner.channels == 1
        assert runner.run("sleep 5", timeout=0.5).timed_out  # ended on the host: kept
        assert runner.run("seq 100000", timeout=10).truncated  # its worker is dropped...
        assert runner.run("echo after", timeout=10).stdout == "after\n"  # ...a new one runs
        assert runner.channels == 2
        two_lines = runner.run("echo 'a\nb'", timeout=10)  # one line per worker command:
        assert two_lines.stdout == "a\nb\n" and runner.channels == 3  # its own channel
    finally:
        runner.close()


def test_a_worker_that_died_while_idle_is_replaced_not_reported(sshd: Sshd) -> None:
    """The worker's shell killed between commands (an OOM kill, an admin): the next command
    runs on a new worker; the host is not taken for lost."""
    runner = SshRunner(target_for(sshd))
    try:
        # `timeout`'s parent is the worker's shell; the killer outlives this command, silently.
        shell = runner.run("ps -o ppid= -p $PPID", timeout=10).stdout.strip()
        runner.run(f"(sleep 0.3; kill -9 {shell}) >/dev/null 2>&1 &", timeout=10)
        deadline = time.monotonic() + 10
        while _alive(int(shell)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(int(shell))
        assert runner.run("echo fine", timeout=10).stdout == "fine\n"
        assert runner.channels == 2 and runner.connections == 1
    finally:
        runner.close()


def test_values_with_shell_syntax_stay_one_word(sshd: Sshd, tmp_path: Path) -> None:
    runner = SshRunner(target_for(sshd))
    try:
        result = runner.run("printf '%s|' 'a b' '$(id)' '`id`' ';x'", timeout=10)
        assert result.stdout == "a b|$(id)|`id`|;x|"
    finally:
        runner.close()


def test_unknown_host_key_is_refused_and_nothing_runs(sshd: Sshd, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    marker = tmp_path / "ran"
    runner = SshRunner(target_for(sshd, known_hosts=empty))
    with pytest.raises(HostKeyRejected, match="not pinned"):
        runner.run(f"touch {marker}", timeout=5)
    assert not marker.exists()
    assert runner.connections == 0
    assert empty.read_text() == ""  # never added


def test_changed_host_key_is_refused_and_nothing_runs(sshd: Sshd, tmp_path: Path) -> None:
    other = start_sshd(tmp_path / "other")  # a different host key
    other.stop()
    changed = tmp_path / "known_hosts"
    key = other.host_key_line.split(" ", 1)[1]
    changed.write_text(f"[127.0.0.1]:{sshd.port} {key}\n")
    marker = tmp_path / "ran"
    runner = SshRunner(target_for(sshd, known_hosts=changed))
    with pytest.raises(HostKeyRejected, match="CHANGED"):
        runner.run(f"touch {marker}", timeout=5)
    assert not marker.exists()


def test_hanging_command_times_out_and_the_remote_process_is_gone(
        sshd: Sshd, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    runner = SshRunner(target_for(sshd), kill_after=1)
    try:
        started = time.monotonic()
        result = runner.run(f"sleep 300 & echo $! >> {pids}; echo $$ >> {pids}; wait",
                            timeout=1.5)
        elapsed = time.monotonic() - started
    finally:
        runner.close()
    assert result.timed_out
    assert elapsed < 6
    recorded = [int(p) for p in pids.read_text().split()]
    assert len(recorded) == 2
    deadline = time.monotonic() + 5
    while any(_alive(p) for p in recorded) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in recorded)


def test_flood_on_stdout_and_stderr_is_capped_with_bounded_memory(sshd: Sshd) -> None:
    runner = SshRunner(target_for(sshd), max_output_bytes=1 << 20)
    flood = ("(head -c 10485760 /dev/zero | tr '\\0' o) & "
             "(head -c 10485760 /dev/zero | tr '\\0' e >&2) & wait")
    try:
        runner.connect()
        tracemalloc.start()
        result = runner.run(flood, timeout=30)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        runner.close()
    assert result.truncated
    assert len(result.stdout) <= 1 << 20
    assert len(result.stderr) <= 64 << 10
    assert set(result.stdout) <= {"o"}
    assert peak < 16 << 20, peak


def test_both_streams_drained_together_without_deadlock(sshd: Sshd) -> None:
    runner = SshRunner(target_for(sshd), max_output_bytes=8 << 20)
    both = ("head -c 3000000 /dev/zero | tr '\\0' o; head -c 60000 /dev/zero | tr '\\0' e >&2;"
            " head -c 3000000 /dev/zero | tr '\\0' o")
    try:
        result = runner.run(both, timeout=30)
    finally:
        runner.close()
    assert not result.truncated and result.exit_status == 0
    assert len(result.stdout) == 6_000_000 and len(result.stderr) == 60_000


def test_more_concurrent_commands_than_max_sessions_queue(
    sshd: Sshd, caplog: pytest.LogCaptureFixture
) -> None:
    runner = SshRunner(target_for(sshd), max_sessions=24)  # sshd allows 10: the rest must wait
    results: list[str] = []
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            results.append(runner.run(f"sleep 0.3; echo {i}", timeout=20).stdout)
        except BaseException as error:
            errors.append(error)

    _run_then_close(runner, [threading.Thread(target=one, args=(i,)) for i in range(30)], 60)
    assert errors == []
    assert sorted(results) == sorted(f"{i}\n" for i in range(30))
    assert runner.connections == 1
    # sshd's refusals are waited out, so they are not logged as errors (paramiko would).
    assert not [r for r in caplog.records if "open FAILED" in r.getMessage()]


def test_quick_commands_on_concurrent_channels_keep_the_connection(sshd: Sshd) -> None:
    """Commands that end at once, eight at a time: sshd drops the connection if an end-of-input
    reaches it after it has freed the channel (seen on 8 busy lab hosts)."""
    runner = SshRunner(target_for(sshd))
    errors: list[BaseException] = []

    def burst() -> None:
        for _ in range(6):
            try:
                if runner.run("true", timeout=10).exit_status != 0:
                    errors.append(AssertionError("exit status"))
            except BaseException as error:
                errors.append(error)

    _run_then_close(runner, [threading.Thread(target=burst) for _ in range(8)], 120)
    assert errors == [] and runner.connections == 1, (errors[:3], runner.connections)


def test_a_command_reading_stdin_gets_end_of_input(sshd: Sshd) -> None:
    runner = SshRunner(target_for(sshd))
    try:
        result = runner.run("cat; echo read-all", timeout=5)
    finally:
        runner.close()
    assert result.stdout == "read-all\n" and not result.timed_out


def test_dead_connection_is_replaced(sshd: Sshd) -> None:
    runner = SshRunner(target_for(sshd))
    try:
        runner.connect().close()  # the connection dies under us
        assert runner.run("echo again", timeout=10).stdout == "again\n"
        assert runner.connections == 2
    finally:
        runner.close()


def test_sftp_copy_is_checksummed_and_size_bounded(sshd: Sshd, tmp_path: Path) -> None:
    remote = tmp_path / "core"
    remote.write_bytes(os.urandom(3 << 20))
    runner = SshRunner(target_for(sshd))
    try:
        fetched = runner.fetch(str(remote), tmp_path / "copy", max_bytes=4 << 20, timeout=30)
        import hashlib

        assert fetched.sha256 == hashlib.sha256(remote.read_bytes()).hexdigest()
        assert (tmp_path / "copy").read_bytes() == remote.read_bytes()
        with pytest.raises(RemoteError, match="over the"):
            runner.fetch(str(remote), tmp_path / "small", max_bytes=1 << 20, timeout=30)
        assert not (tmp_path / "small").exists()
        assert not (tmp_path / "small.part").exists()
        with pytest.raises(RemoteError):
            runner.fetch(str(tmp_path / "missing"), tmp_path / "m", max_bytes=10, timeout=10)
    finally:
        runner.close()


def test_unreachable_host_fails_fast(tmp_path: Path, sshd: Sshd) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    target = target_for(sshd).model_copy(update={"port": port})
    with pytest.raises(ConnectFailed, match="unreachable"):
        SshRunner(target, connect_timeout=2).connect()


def test_silent_server_hits_the_banner_deadline(sshd: Sshd) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        target = target_for(sshd).model_copy(update={"port": silent.getsockname()[1]})
        started = time.monotonic()
        with pytest.raises(ConnectFailed):
            SshRunner(target, connect_timeout=1).connect()
        assert time.monotonic() - started < 5


def _run_then_close(runner: SshRunner, threads: list[threading.Thread], wait: float) -> None:
    """Start the threads together, wait for each (up to `wait` s), then close the runner."""
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(wait)
    finally:
        runner.close()
