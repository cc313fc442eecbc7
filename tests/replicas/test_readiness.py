"""Readiness follows PostgreSQL: a real `segbot serve` whose database becomes unreachable (a
forwarder in between is cut) answers /readyz 503 until the database is back, then 200."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from tests.replicas.tcp_proxy import TcpProxy
from tests.support.serve_process import segbot_serve


def _wait_for(url: str, status: int) -> dict[str, object]:
    deadline = time.monotonic() + 90
    while True:
        try:
            answer = httpx.get(url, timeout=15)
            if answer.status_code == status:
                body: dict[str, object] = answer.json()
                return body
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{url} never answered {status}"
        time.sleep(0.2)


def test_readiness_fails_while_postgresql_is_unreachable(postgres_url: str,
                                                         tmp_path: Path) -> None:
    url = make_url(postgres_url)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    env = {"SEGBOT_DATABASE_URL": through, "SLACK_BOT_TOKEN": None, "SLACK_APP_TOKEN": None}
    with segbot_serve(env, tmp_path / "serve.log") as (base, _process):
        assert _wait_for(f"{base}/readyz", 200) == {"ready": True, "store": "ok"}
        proxy.cut()
        assert _wait_for(f"{base}/readyz", 503) == {"ready": False, "store": "down"}
        assert httpx.get(f"{base}/metrics", timeout=15).status_code == 200  # alive all along
        proxy.restore()
        assert _wait_for(f"{base}/readyz", 200) == {"ready": True, "store": "ok"}
    proxy.cut()
