"""A real OpenSSH sshd on a free loopback port, started as a non-daemon child (tests, bench)."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from bot.config import Target
from tests.support.local_http import free_port

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


def _keygen(path: Path) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
                   check=True, capture_output=True)
    return path.with_suffix(".pub").read_text().strip()


@dataclass
class Sshd:
    directory: Path
    port: int
    user: str
    identity_file: Path
    known_hosts: Path
    host_key_line: str
    process: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None

    address = "127.0.0.1"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        if self.log is not None:
            self.log.close()

    def config_entry(self) -> dict[str, object]:
        return {"address": self.address, "port": self.port, "user": self.user,
                "identity_file": str(self.identity_file), "known_hosts": str(self.known_hosts)}


def available() -> str | None:
    """Why a real sshd cannot be started here, or None when it can."""
    if not Path(SSHD).exists():
        return "OpenSSH sshd is not installed (apt-get install openssh-server)"
    if not shutil.which("ssh-keygen"):
        return "ssh-keygen is not installed (apt-get install openssh-client)"
    return None


def start_sshd(directory: Path, *, max_sessions: int = 10, extra: str = "") -> Sshd:
    """Start sshd with its own host key, its own authorized_keys; the caller must stop() it."""
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o755)
    host_key = directory / "host_ed25519"
    host_public = _keygen(host_key)
    identity = directory / "client_ed25519"
    (directory / "authorized_keys").write_text(_keygen(identity) + "\n")
    port = free_port()
    line = f"[127.0.0.1]:{port} {' '.join(host_public.split()[:2])}"
    (directory / "known_hosts").write_text(line + "\n")
    config = directory / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {host_key}\nPidFile none\n"
        f"AuthorizedKeysFile {directory}/authorized_keys\nStrictModes no\nUsePAM no\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin yes\n"
        f"MaxSessions {max_sessions}\nMaxStartups 100:30:200\nSubsystem sftp internal-sftp\n"
        f"LogLevel ERROR\n{extra}"
    )
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    log = open(directory / "sshd.log", "wb")  # noqa: SIM115 - closed by stop()
    process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)],
                               stdout=subprocess.DEVNULL, stderr=log)
    server = Sshd(directory=directory, port=port, user=getpass.getuser(), identity_file=identity,
                  known_hosts=directory / "known_hosts", host_key_line=line, process=process,
                  log=log)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sshd exited: {(directory / 'sshd.log').read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                if sock.recv(4).startswith(b"SSH-"):
                    return server
        except OSError:
            time.sleep(0.05)
    server.stop()
    raise RuntimeError("sshd did not come up within 10 s")


def target_for(server: Sshd, *, name: str = "loop", known_hosts: Path | None = None) -> Target:
    return Target(name=name, address=server.address, port=server.port, user=server.user,
                  identity_file=server.identity_file,
                  known_hosts=known_hosts or server.known_hosts, sudo=False)
