"""`segbot serve` as a real process for tests: started on a free loopback port, waited for
until /healthz answers, stopped with SIGTERM (killed if it will not stop)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.local_http import free_port
from tests.support.processes import stop

REPO = Path(__file__).resolve().parents[2]


def start_serve(env: Mapping[str, str | None], log: Path, args: Sequence[str] = ()
                ) -> tuple[str, subprocess.Popen[bytes]]:
    """Start it and wait until it answers; `env` is added to this process's environment (a
    None value removes the variable)."""
    environment = {**os.environ, **{k: v for k, v in env.items() if v is not None}}
    for name in [k for k, v in env.items() if v is None]:
        environment.pop(name, None)
    port = free_port()
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", *args, "--port", str(port)],
            env=environment, cwd=REPO, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return url, process
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            stop(process)
            raise AssertionError(f"segbot serve did not start:\n{log.read_text()}")
        time.sleep(0.1)


@contextmanager
def segbot_serve(env: Mapping[str, str | None], log: Path, args: Sequence[str] = ()
                 ) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    url, process = start_serve(env, log, args)
    try:
        yield url, process
    finally:
        stop(process)
