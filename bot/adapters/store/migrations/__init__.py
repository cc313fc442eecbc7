"""Alembic migrations for the store (script_location points here)."""
