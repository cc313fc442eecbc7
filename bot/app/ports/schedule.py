"""The ports of the scheduled use cases (summaries, reminders, digest, timeline capture): the
once-only claims and summary state in the store, and Slack as an announcer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from bot.app.digest import DigestView
    from bot.app.ports.slack import Place
    from bot.app.summaries import SummaryView


@dataclass(frozen=True)
class SummaryState:
    """What the last summary of an incident said."""

    incident_id: int
    number: int
    last_at: datetime
    message_ts: str | None
    signature: str | None
    occurrences: int
    hosts: tuple[str, ...]


@dataclass(frozen=True)
class NewOccurrences:
    """Occurrences of one host and version since a time."""

    host: str
    version: str | None
    count: int


class ScheduleStore(Protocol):
    def claim(self, key: str, *, kind: str, incident_id: int | None, at: datetime) -> bool:
        """Record that `key` is being posted; True for exactly one caller, ever."""

    def set_posted(self, key: str, ts: str) -> None: ...

    def unposted(self, incident_id: int, *, kind: str, since: datetime) -> list[str]:
        """Keys of `kind` claimed since `since` whose message was never recorded as posted."""

    def summary_state(self, incident_id: int) -> SummaryState | None: ...

    def claim_summary(self, key: str, *, previous: int, state: SummaryState,
                      at: datetime) -> bool:
        """Claim a summary slot and advance the summary state from number `previous`, in one
        transaction; False (nothing changed) if the slot was taken or the state moved."""

    def set_summary_ts(self, incident_id: int, ts: str) -> None: ...

    def occurrences_since(self, incident_id: int, since: datetime) -> list[NewOccurrences]:
        """Occurrences received after `since`, by host and version."""

    def capture(self, *, channel: str, message_ts: str, incident_id: int, via: str,
                at: datetime) -> bool:
        """Remember a captured Slack message; False if it was captured before."""

    def crash_times(self, incident_id: int) -> list[tuple[str, datetime]]:
        """(host, crash time) of every occurrence, oldest first (the postmortem's effects)."""

    def summary_ts(self, incident_id: int) -> str | None:
        """The incident's summary message (edit mode), to tell it from people's messages."""


SummaryMode = Literal["edit", "thread"]


@dataclass(frozen=True)
class ChatMessage:
    """A message as Slack tells it: its text, and its thread's root when it is a reply."""

    text: str | None
    thread_ts: str | None = None


class Announcer(Protocol):
    """Slack as the scheduled use cases see it; the adapter renders views into Block Kit."""

    def post_summary(self, place: Place, view: SummaryView, *, mode: SummaryMode,
                     edit_ts: str | None, claim: str | None = None) -> str:
        """Post (or, with `edit_ts`, edit) the summary, tagged with `claim`; the message ts."""

    def post_text(self, place: Place, text: str, *, claim: str | None = None) -> str:
        """A short message where the incident lives (its thread in a shared channel)."""

    def find_posted(self, place: Place, claim: str, *, mode: SummaryMode) -> str | None:
        """The ts of a message segbot posted there under `claim`, if Slack has one."""

    def post_digest(self, channel: str, view: DigestView) -> str: ...

    def upload(self, place: Place, *, filename: str, title: str, content: str) -> None: ...

    def message(self, channel: str, ts: str) -> ChatMessage | None:
        """A message's text and thread (None when Slack will not say)."""


class Leadership(Protocol):
    """Whether this replica runs the scheduled jobs (one at a time across replicas)."""

    def acquire(self) -> bool: ...

    def alive(self) -> bool: ...

    def release(self) -> None: ...


def lines(items: Sequence[str]) -> str:
    return "\n".join(items)
