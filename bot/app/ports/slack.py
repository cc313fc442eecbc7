"""The ports of the Slack use cases: where incidents live in Slack, proposals, the chat itself,
and the reply to one person."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from bot.app.report_view import ReportView
    from bot.domain.report import DecodedReport

ProposalState = Literal["open", "executing", "done", "failed", "unknown", "expired", "void"]


@dataclass(frozen=True)
class Place:
    """Where an incident lives in Slack: its channel and its one report message."""

    incident_id: int
    channel: str
    dedicated: bool = True  # False: a shared configured channel, one thread per incident
    report_ts: str | None = None


@dataclass(frozen=True)
class Proposal:
    """A button's meaning: exactly this action on exactly this target, until `expires_at`."""

    id: str
    incident_id: int
    action: str
    target: Mapping[str, str]
    state: ProposalState
    created_at: datetime
    expires_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    outcome: str | None = None


@dataclass(frozen=True)
class Stuck:
    """A proposal left executing although its action was decided (its replica died between
    the two records): the action's state and detail."""

    proposal: Proposal
    state: str  # succeeded | failed | unknown
    detail: str


class SlackStore(Protocol):
    def place(self, incident_id: int) -> Place | None: ...

    def place_for_channel(self, channel: str) -> Place | None:
        """The incident a dedicated channel belongs to (None for shared channels)."""

    def place_for_thread(self, channel: str, thread_ts: str) -> Place | None:
        """The incident whose thread of a shared channel starts at `thread_ts`."""

    def add_place(self, place: Place, at: datetime) -> bool:
        """Record where an incident lives; False if it already had a place (kept as is)."""

    def set_report_ts(self, incident_id: int, ts: str) -> None: ...

    def places(self) -> list[Place]: ...

    def add_proposal(self, proposal: Proposal) -> None: ...

    def proposal(self, proposal_id: str) -> Proposal | None: ...

    def proposals(self, incident_id: int) -> list[Proposal]: ...

    def reopen_unstarted(self, *, before: datetime) -> list[Proposal]:
        """Proposals clicked before `before` whose action never started (its process died
        first), open again; as they were clicked (who, when)."""

    def stuck_proposals(self, *, before: datetime) -> list[Stuck]:
        """Proposals still executing whose action was decided before `before`."""

    def claim_proposal(self, proposal_id: str, *, by: str, at: datetime) -> bool:
        """open -> executing if still open and unexpired at `at`; True for exactly one caller."""

    def finish_proposal(
        self, proposal_id: str, *, state: ProposalState, outcome: str, at: datetime
    ) -> None: ...

    def close_proposals(self, incident_id: int, *, state: ProposalState, at: datetime) -> int:
        """Every open proposal of the incident -> `state` (expired or void); how many."""

    def add_evidence(self, incident_id: int, *, host: str, command: str, output: str,
                     at: datetime) -> None:
        """Keep one command's (redacted) output: the live report is rebuilt from these."""

    def evidence(self, incident_id: int) -> list[tuple[str, str, str]]:
        """(host, command, output) in arrival order."""


@dataclass(frozen=True)
class ChannelRequest:
    """What the chat adapter needs to name and fill an incident channel."""

    incident_id: int
    service: str
    signal: str | None
    opened_at: datetime
    invite: tuple[str, ...]  # user ids to invite (on top of the on-call group)
    topic: str
    adopt: str | None = None  # a name a crashed replica tried: its channel is ours if taken


class Chat(Protocol):
    """Slack as the use cases see it; the adapter renders views into Block Kit."""

    def open_place(self, request: ChannelRequest,
                   intend: Callable[[str], None] | None = None) -> Place:
        """A new incident channel (or the configured shared channel); raises SlackError.
        `intend(name)` hears each name before it is tried."""

    def invite(self, place: Place, users: Sequence[str]) -> None: ...

    def rename(self, place: Place, request: ChannelRequest) -> str | None:
        """Name the incident's channel after `request.signal`; the new name, or None when it
        already carries it; raises SlackError."""

    def post_report(self, place: Place, view: ReportView, *, claim: str | None = None) -> str:
        """Post the report message (tagged with `claim` in its metadata); its ts."""

    def find_report(self, place: Place, claim: str) -> str | None:
        """The ts of a report message tagged with `claim`, if Slack has one."""

    def update_report(self, place: Place, view: ReportView) -> None: ...

    def upload(self, place: Place, *, filename: str, title: str, content: str) -> None:
        """A file in the report's thread (long outputs are never cut silently)."""

    def tell(self, *, channel: str, user: str, text: str) -> None:
        """An ephemeral message to one user."""

    def group_members(self, group_id: str) -> frozenset[str]:
        """The user ids of a user group; raises SlackError when Slack cannot say."""


class Reply(Protocol):
    """Answer the person who typed the command or clicked the button, visible only to them
    (Slack's response_url first: it works in channels segbot is not a member of)."""

    def text(self, text: str) -> None: ...

    def decoded(self, report: DecodedReport) -> None: ...
