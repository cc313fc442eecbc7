"""The port that keeps `/segfault` requests between their ack and their answer: stored and
claimed before the ack, so a replica dying in between leaves them to be taken over."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.app.claims import Lease


@dataclass(frozen=True)
class SlashRequest:
    """A command as Slack delivered it (the answer goes to `response_url` while it lasts)."""

    id: str
    at: datetime
    user: str
    channel: str
    text: str
    response_url: str | None = None


class SlashRequests(Protocol):
    def receive(self, request: SlashRequest, *, holder: str, ttl: float) -> Lease:
        """Store `request` and claim it for `holder` in one transaction (before the ack)."""

    def orphaned(self, *, holder: str, since: datetime) -> list[SlashRequest]:
        """Requests received after `since` whose holder died before finishing them (the
        lease lapsed unfinished), oldest first; none `holder` holds alive."""
