"""Which replica runs the scheduled jobs: with PostgreSQL, the one holding a session-level
advisory lock on a connection of its own; with SQLite, the one process there is."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from bot.app.ports.schedule import Leadership

log = logging.getLogger("segbot.schedule")
LOCK_KEY = 0x5E6B07  # pg_advisory_lock key of the scheduler leader ("segbot")


class SoleProcess:
    """SQLite: one process runs the bot, so it always leads."""

    def acquire(self) -> bool:
        return True

    def alive(self) -> bool:
        return True

    def release(self) -> None:
        pass


class PgAdvisoryLock:
    """A session-level pg_try_advisory_lock on a connection of its own (not from the pool, so
    the lock can never ride along with a pooled connection into other work)."""

    def __init__(self, engine: Engine, key: int = LOCK_KEY) -> None:
        self._engine = create_engine(engine.url, poolclass=NullPool)
        self._key = key
        self._conn: Any = None

    def acquire(self) -> bool:
        try:
            if self._conn is None:
                self._conn = self._engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT")
            got = bool(self._conn.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                          {"k": self._key}).scalar())
        except Exception as error:  # the database is away: not the leader, try again later
            log.warning("leader lock not taken: %s", error)
            self._drop()
            return False
        return got

    def alive(self) -> bool:
        """Still connected (the server releases the lock with the session)."""
        try:
            self._conn.execute(text("SELECT 1"))
        except Exception as error:
            log.warning("leader connection lost: %s", error)
            self._drop()
            return False
        return True

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
            except Exception as error:  # closing the session releases it anyway
                log.info("leader lock released by closing: %s", error)
        self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):  # already broken: the session is gone
                self._conn.close()
        self._conn = None


def leadership_for(engine: Engine) -> Leadership:
    return PgAdvisoryLock(engine) if engine.dialect.name == "postgresql" else SoleProcess()
