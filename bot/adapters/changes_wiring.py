"""Builds the change findings of `segbot serve` from the config: the change store, each
service's git repository and flag service."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy import Engine

from bot.adapters.flag_service import HttpFlagService
from bot.adapters.git_history import GitRepository
from bot.adapters.store.change_store import SqlChangeStore
from bot.app.change_context import ChangeContext
from bot.app.changes import ServiceSources
from bot.app.ports import Store
from bot.config import Config


def change_context(*, config: Config, engine: Engine, store: Store,
                   environ: Mapping[str, str] = os.environ) -> ChangeContext:
    sources = {
        name: ServiceSources(
            binary=service.binary, repo=service.changes.repo,
            flags=HttpFlagService(service.changes.flag_service, environ)
            if service.changes.flag_service else None,
            watched_flags=tuple(service.changes.flags))
        for name, service in config.services.items()}

    def lookback(service: str) -> timedelta:
        entry = config.services.get(service)
        return timedelta(hours=entry.changes.lookback_hours if entry else 24.0)

    git = GitRepository() if any(s.repo for s in sources.values()) else None
    return ChangeContext(store=store, changes=SqlChangeStore(engine), git=git,
                         sources=sources, lookback=lookback)
