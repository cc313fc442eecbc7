"""The store's schema: Alembic migrations build exactly the tables the code declares, SQLite is
set up for durability, and the data directory is the default home."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

import bot.adapters.store
from bot.adapters.store import database_url, open_engine
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
            from alembic.config import Config
            from alembic.script import ScriptDirectory

            from bot.adapters.store.engine import MIGRATIONS

            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            expected = set(ScriptDirectory.from_config(config).get_heads())
            assert set(context.get_current_heads()) == expected  # every branch applied
        tables = set(inspect(engine).get_table_names())
        assert {"incident", "occurrence", "incident_host", "timeline_event", "evidence",
                "decoded_report", "action", "audit_log", "slack_message"} <= tables
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
