"""SQLite serves one replica: `serve` holds an exclusive lock on a file beside the database
for as long as it runs, and a second `serve` on the same database finds it held and refuses.
The kernel drops the lock with the process, however it ends (no stale lock after a crash)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from sqlalchemy import Engine

from bot.errors import ConfigError


class SoleReplica:
    """The held lock; `release()` (or the process ending) lets another serve start."""

    def __init__(self, handle: IO[str] | None) -> None:
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def hold_sqlite(engine: Engine) -> SoleReplica:
    """Lock the SQLite database `engine` is on for this process; ConfigError naming the
    running replica if another process holds it. Other databases need no lock."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return SoleReplica(None)
    path = Path(database).resolve().with_name(Path(database).name + ".serve-lock")
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise ConfigError(
            f"another segbot serve ({holder}) is running on the SQLite database {database}; "
            "SQLite serves one replica: stop that one, or give every replica a PostgreSQL "
            "database (SEGBOT_DATABASE_URL=postgresql://...)") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}\n")
    handle.flush()
    return SoleReplica(handle)
