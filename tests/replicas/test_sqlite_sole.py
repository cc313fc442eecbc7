"""SQLite serves one replica: a second `segbot serve` on the same database refuses with a clear
message (it finds the first one's lock, it does not assume), and a killed serve leaves no
stale lock behind."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from tests.support.processes import stop
from tests.support.serve_process import REPO, start_serve


def test_a_second_serve_on_one_sqlite_database_refuses(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'segbot.db'}"
    env = {"SEGBOT_DATABASE_URL": url, "SLACK_BOT_TOKEN": None, "SLACK_APP_TOKEN": None}
    _, first = start_serve(env, tmp_path / "first.log")
    try:
        second = subprocess.run(
            [sys.executable, "-m", "bot", "serve", "--port", "0"], cwd=REPO, timeout=60,
            env={**_environ(), "SEGBOT_DATABASE_URL": url}, capture_output=True, text=True)
        assert second.returncode == 2, second.stderr
        assert f"another segbot serve (pid {first.pid})" in second.stderr
        assert "SQLite serves one replica" in second.stderr and "PostgreSQL" in second.stderr
        assert "Traceback" not in second.stderr
        assert first.poll() is None  # the running one is untouched
        first.send_signal(signal.SIGKILL)
        first.wait(20)
        _, again = start_serve(env, tmp_path / "again.log")  # no stale lock after a kill
        stop(again)
    finally:
        stop(first)


def test_other_databases_are_not_locked(tmp_path: Path) -> None:
    from sqlalchemy import create_engine

    from bot.adapters.store.sole_replica import hold_sqlite

    memory = hold_sqlite(create_engine("sqlite://"))
    memory.release()
    one = hold_sqlite(create_engine(f"sqlite:///{tmp_path / 'x.db'}"))
    one.release()
    two = hold_sqlite(create_engine(f"sqlite:///{tmp_path / 'x.db'}"))  # released: free
    two.release()


def _environ() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items()
            if k not in {"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"}}
