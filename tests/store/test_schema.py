"""The store's schema: Alembic migrations build exactly the tables the code declares, SQLite is
set up for durability, and the data directory is the default home."""

from __future__ import annotations

import importlib
import pkgutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlmodel import SQLModel

import bot.adapters.store
from bot.adapters.store import database_url, open_engine
from bot.adapters.store.engine import MIGRATIONS
from bot.errors import ConfigError

# Every *tables module of the store registers its tables (ours, the Slack adapter's, ...).
for _module in pkgutil.iter_modules(bot.adapters.store.__path__):
    if _module.name.endswith("tables"):
        importlib.import_module(f"bot.adapters.store.{_module.name}")


def test_migrations_match_the_tables(database_url: str) -> None:
    engine = open_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, SQLModel.metadata) == []
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            expected = set(ScriptDirectory.from_config(config).get_heads())
            assert set(context.get_current_heads()) == expected  # every branch applied
        tables = set(inspect(engine).get_table_names())
        assert {"incident", "occurrence", "incident_host", "timeline_event", "decoded_report",
                "audit_log"} <= tables
        assert not {"evidence", "action", "slack_message"} & tables  # dropped: never used
    finally:
        engine.dispose()


def _migrate(engine: Engine, revision: str, *, down: bool = False) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def test_unused_tables_are_dropped_and_come_back_on_downgrade(database_url: str) -> None:
    engine = open_engine(database_url, migrate=False)
    try:
        _migrate(engine, "0005_changes")
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO incident (service, status, opened_at, updated_at, last_seen, "
                "occurrences) VALUES ('checkout-api', 'open', :t, :t, :t, 1)"),
                {"t": datetime(2026, 11, 26, 5, 0, tzinfo=UTC)})
        _migrate(engine, "0006_cleanup")
        tables = set(inspect(engine).get_table_names())
        assert not {"evidence", "action", "slack_message"} & tables
        assert "incident" in tables
        _migrate(engine, "0005_changes", down=True)
        inspector = inspect(engine)
        assert {"evidence", "action", "slack_message"} <= set(inspector.get_table_names())
        assert [i["name"] for i in inspector.get_indexes("evidence")] == [
            "ix_evidence_incident_id"]
        _migrate(engine, "heads")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT service FROM incident")).scalars().all() == [
                "checkout-api"]
    finally:
        engine.dispose()


def test_migrating_twice_is_a_no_op(database_url: str) -> None:
    open_engine(database_url).dispose()
    engine = open_engine(database_url)
    engine.dispose()


def test_sqlite_is_durable(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'x' / 'segbot.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() >= 1000
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_default_location_and_url() -> None:
    assert database_url({"XDG_DATA_HOME": "/srv/data"}) == "sqlite:////srv/data/segbot/segbot.db"
    assert database_url({"SEGBOT_DATABASE_URL": "postgresql://u@db/segbot"}) == (
        "postgresql+psycopg://u@db/segbot")
    with pytest.raises(ConfigError):
        open_engine("not a url")
