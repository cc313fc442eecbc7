"""The durable store: sqlmodel tables on SQLite (default) or PostgreSQL, Alembic migrations."""

from bot.adapters.store.engine import database_url, open_engine
from bot.adapters.store.sql_store import SqlStore, open_store

__all__ = ["SqlStore", "database_url", "open_engine", "open_store"]
