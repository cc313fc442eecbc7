"""Stopping the servers the tests start as child processes: SIGTERM, then SIGKILL if it lingers."""

from __future__ import annotations

import signal
import subprocess


def stop(process: subprocess.Popen[bytes], *, grace: float = 20) -> None:
    """Ask `process` to end (SIGTERM) and reap it; kill it if it outlives `grace` seconds."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
