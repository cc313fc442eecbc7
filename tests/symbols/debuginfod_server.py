"""Start a real elfutils debuginfod on a free loopback port over a directory of ELF files, and a
tiny misbehaving HTTP server (garbage, huge or silent answers) for the failure tests."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support.local_http import JsonHandler, free_port, serving
from tests.support.processes import stop


@contextmanager
def debuginfod(directory: Path, database: Path, ready_build_id: str) -> Iterator[str]:
    """Yield the server's URL once it serves ready_build_id; stop it by pid afterwards."""
    if shutil.which("debuginfod") is None:
        pytest.skip("debuginfod is not installed (.ci/setup.d/20-symbols.sh installs it)")
    port = free_port()
    log = database.with_suffix(".log").open("wb")
    process = subprocess.Popen(
        [
            "debuginfod",
            "-p",
            str(port),
            "-d",
            str(database),
            "-F",
            "-t",
            "0",
            "-g",
            "0",
            "-c",
            "1",
            str(directory),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise AssertionError(
                    f"debuginfod exited: {database.with_suffix('.log').read_text()}"
                )
            try:
                answer = httpx.get(f"{url}/buildid/{ready_build_id}/debuginfo", timeout=2)
                if answer.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("debuginfod did not index the test files within 60 s")
            time.sleep(0.2)
        yield url
    finally:
        stop(process, grace=10)
        log.close()


class _Handler(JsonHandler):
    mode = "garbage"
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        if self.mode == "silent":
            time.sleep(5)
            return
        if self.mode == "missing":
            self.send_error(404)
            return
        body = b"\x7fELF" + b"\0" * 12 if self.mode == "garbage" else b"\x7fELF" * (1 << 18)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def odd_server(mode: str) -> Iterator[tuple[str, type[_Handler]]]:
    handler = type("Handler", (_Handler,), {"mode": mode, "hits": 0})
    with serving(handler) as url:
        yield url, handler
