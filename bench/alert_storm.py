"""Alert storm against `segbot serve`: sustained Alertmanager intake over loopback.

Prints alerts acknowledged per second, p50/p99 acknowledgement latency, incidents created,
alerts lost (acknowledged but not in the store), and the same load against a do-nothing route
on the same server stack (POST /bench/noop: same uvicorn, FastAPI, auth, thread pool) as the
baseline. Senders run in separate processes so the load generator's GIL is not the server's.

    .venv/bin/python bench/alert_storm.py                      # SQLite in a temporary dir
    .venv/bin/python bench/alert_storm.py --database-url postgresql+psycopg://...
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
TOKEN = "bench-token"
KERNEL_LINE = (
    "checkout-api[{pid}]: segfault at 0 ip 00005581d3a0c4d2 sp 00007ffd5e3f1a80 error 4 "
    "in checkout-api[5581d3a00000+1d000] likely on CPU 3 (core 3, socket 0)"
)


def webhook(first: int, count: int, hosts: int) -> dict[str, Any]:
    alerts = []
    for n in range(first, first + count):
        host = f"node-{n % hosts:02d}"
        alerts.append(
            {
                "status": "firing",
                "labels": {
                    "alertname": "ServiceSegfault",
                    "instance": f"{host}:9100",
                    "job": "node",
                    "unit": "checkout-api.service",
                    "seq": str(n),
                },
                "annotations": {"description": KERNEL_LINE.format(pid=1000 + n % 30000)},
                "startsAt": "2026-11-26T04:40:00.123456789Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph",
                "fingerprint": hashlib.sha256(f"bench/{n}".encode()).hexdigest()[:16],
            }
        )
    return {
        "receiver": "segbot",
        "status": "firing",
        "alerts": alerts,
        "groupLabels": {"alertname": "ServiceSegfault"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "version": "4",
        "groupKey": '{}:{alertname="ServiceSegfault"}',
        "truncatedAlerts": 0,
    }


class _Connection:
    """A minimal HTTP/1.1 keep-alive client: the load generator must cost the machine (two
    cores, shared with the server) far less than the server, which httpx does not."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._sock: socket.socket | None = None
        self._buffer = b""

    def post(self, request: bytes) -> int:
        if self._sock is None:
            self._sock = socket.create_connection(("127.0.0.1", self._port), timeout=60)
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._buffer = b""
        try:
            self._sock.sendall(request)
            while b"\r\n\r\n" not in self._buffer:
                self._buffer += self._recv()
            head, _, rest = self._buffer.partition(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            status = int(lines[0].split()[1])
            length = next(
                int(v)
                for k, _, v in (line.partition(b":") for line in lines[1:])
                if k.strip().lower() == b"content-length"
            )
            while len(rest) < length:
                rest += self._recv()
            self._buffer = rest[length:]
            return status
        except (OSError, ValueError, StopIteration):
            self.close()
            return 0

    def _recv(self) -> bytes:
        assert self._sock is not None
        data = self._sock.recv(65536)
        if not data:
            raise OSError("connection closed")
        return data

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def _request(path: str, body: bytes) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def _sender_process(
    port: int, path: str, batches: list[tuple[int, int]], threads: int, hosts: int
) -> tuple[list[float], int, int]:
    """Post the batches from `threads` threads; (latencies, alerts acknowledged, errors)."""
    requests = [
        _request(path, json.dumps(webhook(first, count, hosts)).encode())
        for first, count in batches
    ]
    latencies: list[float] = []
    acked = errors = 0
    lock = threading.Lock()
    work = iter(range(len(requests)))

    def run() -> None:
        nonlocal acked, errors
        connection = _Connection(port)
        while True:
            with lock:
                index = next(work, None)
            if index is None:
                connection.close()
                return
            started = time.perf_counter()
            ok = connection.post(requests[index]) == 200
            elapsed = time.perf_counter() - started
            with lock:
                if ok:
                    latencies.append(elapsed)
                    acked += batches[index][1]
                else:
                    errors += 1

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return latencies, acked, errors


def storm(
    port: int,
    path: str,
    *,
    alerts: int,
    per_webhook: int,
    processes: int,
    threads: int,
    hosts: int,
    offset: int,
) -> dict[str, float]:
    batches = [(offset + i, min(per_webhook, alerts - i)) for i in range(0, alerts, per_webhook)]
    shares = [batches[p::processes] for p in range(processes)]
    started = time.perf_counter()
    with ProcessPoolExecutor(processes) as pool:
        results = list(
            pool.map(
                _sender_process,
                [port] * processes,
                [path] * processes,
                shares,
                [threads] * processes,
                [hosts] * processes,
            )
        )
    elapsed = time.perf_counter() - started
    latencies = sorted(x for r in results for x in r[0])
    acked = sum(r[1] for r in results)
    return {
        "alerts_per_s": acked / elapsed,
        "requests_per_s": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else float("nan"),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))] if latencies else float("nan"),
        "acked": acked,
        "errors": sum(r[2] for r in results),
        "seconds": elapsed,
    }


def _cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and its children (the server and its intake writer)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return own + sum(_cpu_seconds(int(child)) for child in children)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: SQLite in a temporary directory")
    parser.add_argument("--alerts", type=int, default=20_000)
    parser.add_argument(
        "--per-webhook",
        type=int,
        default=1,
        help="alerts per Alertmanager webhook (1: hardest case)",
    )
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--threads", type=int, default=16, help="senders per process")
    parser.add_argument("--hosts", type=int, default=20)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "SEGBOT_ALERT_TOKEN": TOKEN,
            "SEGBOT_BENCH_BASELINE": "1",
            "XDG_DATA_HOME": tmp,
        }
        url_db = args.database_url or f"sqlite:///{tmp}/segbot/segbot.db"
        env["SEGBOT_DATABASE_URL"] = url_db
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--port", str(port)],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            common = {
                "per_webhook": args.per_webhook,
                "processes": args.processes,
                "threads": args.threads,
                "hosts": args.hosts,
            }
            # warm-up (imports, first incident, connection pools), then the measured runs
            storm(port, "/alerts/alertmanager", alerts=500, offset=10_000_000, **common)
            cpu0 = _cpu_seconds(server.pid)
            baseline = storm(port, "/bench/noop", alerts=args.alerts, offset=0, **common)
            cpu1 = _cpu_seconds(server.pid)
            intake = storm(port, "/alerts/alertmanager", alerts=args.alerts, offset=0, **common)
            cpu2 = _cpu_seconds(server.pid)
            baseline["cpu_ms_per_request"] = (
                1000 * (cpu1 - cpu0) / max(1, args.alerts // args.per_webhook)
            )
            intake["cpu_ms_per_request"] = (
                1000 * (cpu2 - cpu1) / max(1, args.alerts // args.per_webhook)
            )
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(30)
        sys.path.insert(0, str(REPO))
        from sqlalchemy import text

        from bot.adapters.store import open_store

        store = open_store(url_db)
        with store.engine.connect() as connection:
            stored = connection.execute(
                text("SELECT count(*) FROM occurrence WHERE alert_key IS NOT NULL")
            ).scalar_one()
        incidents = store.list_incidents()
        store.engine.dispose()

    warmup = 500
    lost = (intake["acked"] + warmup) - stored
    backend = "PostgreSQL" if url_db.startswith("postgres") else "SQLite"
    print(
        f"alert storm on {backend}: {args.alerts} alerts, {args.hosts} hosts, "
        f"{args.per_webhook} alert(s)/webhook, {args.processes}x{args.threads} senders"
    )
    print(
        f"  intake    {intake['alerts_per_s']:8.0f} alerts/s  "
        f"({intake['requests_per_s']:.0f} req/s)  p50 {intake['p50_ms']:.1f} ms  "
        f"p99 {intake['p99_ms']:.1f} ms  errors {intake['errors']:.0f}  "
        f"server CPU {intake['cpu_ms_per_request']:.2f} ms/request (writer process included)"
    )
    print(
        f"  baseline  {baseline['requests_per_s']:8.0f} req/s (do-nothing route)  "
        f"p50 {baseline['p50_ms']:.1f} ms  p99 {baseline['p99_ms']:.1f} ms  "
        f"server CPU {baseline['cpu_ms_per_request']:.2f} ms/request"
    )
    print(
        f"  ratio     {intake['requests_per_s'] / baseline['requests_per_s']:.2f} "
        f"of baseline requests/s"
    )
    print(f"  incidents created {len(incidents)}  occurrences stored {stored}  lost {max(lost, 0)}")


if __name__ == "__main__":
    main()
