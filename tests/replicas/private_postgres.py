"""A PostgreSQL server of the test's own (Debian's binaries, a cluster under /tmp owned by the
postgres user, on a free loopback port), so that a test may restart the whole database without
disturbing the shared test server."""

from __future__ import annotations

import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest


def _bin() -> Path:
    root = Path("/usr/lib/postgresql")
    versions = sorted(root.iterdir(), key=lambda p: [int(x) for x in p.name.split(".")
                                                     if x.isdigit()]) if root.exists() else []
    if not versions:
        pytest.skip("PostgreSQL binaries not installed (.ci/setup.d/10-postgres.sh)")
    return versions[-1] / "bin"


@dataclass
class PrivatePostgres:
    directory: Path
    port: int
    bin: Path

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", str(self.bin / "pg_ctl"), "-D",
                        str(self.directory / "data"), *args], check=True, capture_output=True,
                       timeout=120)

    def start(self) -> None:
        self._ctl("-l", str(self.directory / "log"), "-w", "-t", "60", "-o",
                  f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                  f"-c unix_socket_directories={self.directory} -c max_connections=200",
                  "start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "-w", "-t", "60", "stop")

    def restart(self) -> None:
        """The whole database server goes down (every session cut) and comes back."""
        self.stop("immediate")
        self.start()


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    if shutil.which("runuser") is None:
        pytest.skip("runuser missing")
    directory = Path(f"/tmp/segbot-kill-{uuid.uuid4().hex[:10]}")
    subprocess.run(["install", "-d", "-o", "postgres", "-g", "postgres", "-m", "700",
                    str(directory)], check=True)
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = int(probe.getsockname()[1])
    probe.close()
    server = PrivatePostgres(directory, port, _bin())
    subprocess.run(["runuser", "-u", "postgres", "--", str(server.bin / "initdb"), "-D",
                    str(directory / "data"), "-A", "trust", "-U", "postgres", "--no-sync",
                    "-E", "UTF8"], check=True, capture_output=True, timeout=120)
    server.start()
    try:
        yield server
    finally:
        try:
            server.stop("immediate")
        finally:
            shutil.rmtree(directory, ignore_errors=True)
