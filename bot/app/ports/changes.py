"""The ports the change use cases need: where change events are kept, the crash history of a
service, a service's git repository, and its flag service."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bot.domain.change_history import Sighting, SuspectCommit
from bot.domain.changes import ChangeEvent, FlagReport


class ChangeStore(Protocol):
    def add_changes(self, events: Sequence[ChangeEvent], received_at: datetime) -> tuple[int, int]:
        """Store the events in one transaction; (stored, duplicates) by their keys."""

    def changes(self, service: str, *, until: datetime | None = None,
                limit: int = 500) -> list[ChangeEvent]:
        """The service's change events at or before `until`, oldest first (the newest `limit`)."""

    def sightings(self, service: str) -> list[Sighting]:
        """Every (signature, version, build-id) the service's stored crashes show."""


class GitHistory(Protocol):
    def suspects(self, *, repo: str, since: str, until: str, file: str,
                 sites: Sequence[tuple[str, str]]) -> list[SuspectCommit]:
        """Commits in since..until that touched `file`, and those that changed each
        (function, file) of `sites` where git can follow it; unranked. SegbotError when the
        repository or a ref cannot be read."""


class FlagService(Protocol):
    def recent(self, flags: Sequence[str], *, now: datetime) -> FlagReport:
        """The flags' current states and recent changes, as change events; FlagServiceError
        when the service does not answer."""
