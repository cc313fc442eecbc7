"""Engines for the store: where the database is, SQLite durability settings, migrations,
and the one place SQLAlchemy errors become StoreError."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bot.errors import ConfigError, StoreError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_MS = 30_000
MIGRATION_LOCK = 0x5E6B08  # pg_advisory_xact_lock key held while migrating


def data_dir(environ: Mapping[str, str] = os.environ) -> Path:
    base = environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "segbot"


def database_url(environ: Mapping[str, str] = os.environ) -> str:
    """SEGBOT_DATABASE_URL, else SQLite in the data directory ($XDG_DATA_HOME/segbot)."""
    url = environ.get("SEGBOT_DATABASE_URL", "").strip()
    if not url:
        return f"sqlite:///{data_dir(environ) / 'segbot.db'}"
    if url.startswith(("postgres://", "postgresql://")):  # psycopg 3 is the driver we ship
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def open_engine(url: str, *, migrate: bool = True) -> Engine:
    """An engine for `url`, with SQLite set up for durability (WAL, synchronous=FULL)."""
    try:
        parsed = make_url(url)
    except exc.ArgumentError as error:
        raise ConfigError(f"SEGBOT_DATABASE_URL is not a database URL: {error}") from None
    with translate_errors():
        if parsed.get_backend_name() == "sqlite":
            engine = _sqlite_engine(url, parsed.database)
        else:
            # A database that stops answering fails a request in seconds rather than holding
            # it (and readiness) until the kernel gives up on the connection.
            engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5,
                                   pool_timeout=10, connect_args=_connect_args(parsed))
        if migrate:
            upgrade(engine)
    return engine


def _connect_args(parsed: Any) -> dict[str, Any]:
    if parsed.get_backend_name() == "postgresql":
        return {"connect_timeout": 5}
    return {}


def _sqlite_engine(url: str, database: str | None) -> Engine:
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        # Let SQLAlchemy own transactions: the driver's implicit BEGIN is deferred, which lets
        # two writers read then deadlock on upgrade; we BEGIN IMMEDIATE instead (below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (Alembic, shipped in this package)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # Replicas starting together migrate one after the other (the others then find
            # the schema current), not side by side into duplicate CREATE TABLEs.
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")  # every branch: adapters add migrations independently


@contextmanager
def translate_errors() -> Iterator[None]:
    """SQLAlchemy and driver errors become StoreError, with a one-line reason."""
    try:
        yield
    except exc.SQLAlchemyError as error:
        detail = str(getattr(error, "orig", None) or error).splitlines()[0]
        raise StoreError(f"database error: {type(error).__name__}: {detail}") from error


@contextmanager
def in_transaction(engine: Engine) -> Iterator[Session]:
    """One session in one transaction, committed on success; errors become StoreError."""
    with (
        translate_errors(),
        Session(engine, expire_on_commit=False) as session,
        session.begin(),
    ):
        yield session
