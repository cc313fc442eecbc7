"""The demo's process supervisor: runs the demo service the way systemd runs a unit with
Restart=always, and logs what happens in systemd's own words, so that `segbot demo` exercises
the same parsers a real host does on a machine that has no systemd (a container, a laptop).

Its restart delay is read from a drop-in file before every restart: writing the drop-in is how
the demo's containment action really slows the loop, as `systemctl daemon-reload` would.
"""

from __future__ import annotations

import os
import re
import resource
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.domain.signals import NAMES


@dataclass(frozen=True)
class Exit:
    pid: int
    time: datetime
    signal: str | None
    core: Path | None


class DemoSupervisor:
    def __init__(self, *, binary: Path, workdir: Path, unit: str = "checkout-api.service",
                 description: str = "Checkout API (segbot demo)",
                 restart_usec: int = 200_000, environment: dict[str, str] | None = None) -> None:
        self.binary, self.workdir, self.unit, self.description = binary, workdir, unit, description
        self.run_dir = workdir / "run"
        self.cores = workdir / "cores"
        self.journal = workdir / "journal.log"
        self.state = workdir / "unit.show"  # `systemctl show` of the unit, kept current
        self.dropin = workdir / "restart.conf"
        self.environment = environment or {}
        self.hostname = socket.gethostname().split(".")[0] or "localhost"
        self.exits: list[Exit] = []
        self._restart_usec = restart_usec
        self._stop = threading.Event()
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="demo-supervisor", daemon=True)
        for directory in (self.run_dir, self.cores):
            directory.mkdir(parents=True, exist_ok=True)
        self.dropin.write_text(f"[Service]\nRestartSec={restart_usec // 1000}ms\n")
        self._write_state()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
        self._thread.join(timeout=10)

    def set_restart_delay(self, usec: int) -> None:
        """Write the drop-in; it takes effect at the next restart."""
        self.dropin.write_text(f"[Service]\nRestartSec={usec // 1000}ms\n")

    @property
    def restart_usec(self) -> int:
        return self._restart_usec

    def wait_for_exits(self, count: int, timeout: float) -> list[Exit]:
        deadline = time.monotonic() + timeout
        while len(self.exits) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.exits)

    def _loop(self) -> None:
        restarts = 0
        while not self._stop.is_set():
            self._log("systemd", 1, f"Started {self.description}.")
            exit_ = self._run_once()
            if exit_ is None or self._stop.is_set():
                break
            self.exits.append(exit_)
            self._restart_usec = self._read_dropin()
            restarts += 1
            self._log("systemd", 1, f"{self.unit}: Scheduled restart job, restart counter is at "
                      f"{restarts}.")
            self._write_state(restarts)
            self._log("systemd", 1, f"Stopped {self.description}.")
            self._stop.wait(self._restart_usec / 1_000_000)

    def _run_once(self) -> Exit | None:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **self.environment}
        with self._lock:
            if self._stop.is_set():
                return None
            self._process = subprocess.Popen(
                [str(self.binary)], cwd=self.run_dir, env=env, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, preexec_fn=_unlimited_core)
        process = self._process
        name = self.binary.name
        assert process.stdout is not None
        for raw in process.stdout:
            self._log(name, process.pid, raw.decode("utf-8", "replace").rstrip())
        _, status = os.waitpid(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        when = datetime.now(UTC)
        if os.WIFSIGNALED(status):
            number = os.WTERMSIG(status)
            short = NAMES.get(number, str(number)).removeprefix("SIG")
            dumped = os.WCOREDUMP(status)
            self._log("systemd", 1, f"{self.unit}: Main process exited, "
                      f"code={'dumped' if dumped else 'killed'}, status={number}/{short}")
            if dumped:
                self._log("systemd", 1, f"{self.unit}: Failed with result 'core-dump'.")
            core = self._keep_core(process.pid) if dumped else None
            return Exit(process.pid, when, NAMES.get(number), core)
        code = os.WEXITSTATUS(status)
        self._log("systemd", 1, f"{self.unit}: Main process exited, code=exited, "
                  f"status={code}/n/a")
        return Exit(process.pid, when, None, None)

    def _keep_core(self, pid: int) -> Path | None:
        for candidate in (self.run_dir / f"core.{pid}", self.run_dir / "core"):
            if candidate.exists():
                kept = self.cores / f"core.{self.binary.name}.{pid}"
                candidate.rename(kept)
                return kept
        return None  # core_pattern sends cores elsewhere (a pipe to systemd-coredump, apport)

    def _read_dropin(self) -> int:
        match = re.search(r"^RestartSec=(\d+)ms$", self.dropin.read_text(), re.MULTILINE)
        return int(match[1]) * 1000 if match else self._restart_usec

    def _write_state(self, restarts: int = 0) -> None:
        self.state.write_text(f"Id={self.unit}\nRestart=always\n"
                              f"RestartUSec={self._restart_usec // 1000}ms\n"
                              f"NRestarts={restarts}\nLimitCORE=infinity\n")

    def _log(self, ident: str, pid: int, message: str) -> None:
        stamp = datetime.now(UTC)
        line = (f"{stamp:%b} {stamp.day:2d} {stamp:%H:%M:%S} {self.hostname} "
                f"{ident}[{pid}]: {message}\n")
        with self.journal.open("a") as journal:
            journal.write(line)


def _unlimited_core() -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
