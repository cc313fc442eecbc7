"""The ports of containment: what the buttons call, where actions are recorded, and who carries
them out (HTTP, SSH)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from bot.domain.containment import ActionRecord, ActionState, Outcome
from bot.domain.verification import HostCount


@dataclass(frozen=True)
class ActionRequest:
    proposal_id: str
    incident_id: int
    action: str
    target: Mapping[str, str]
    requested_by: str


@dataclass(frozen=True)
class ActionResult:
    ok: bool
    text: str
    # host -> `systemctl show` re-read after the action: the report shows the unit's new state
    unit_states: Mapping[str, str] = field(default_factory=dict)


class ContainmentActions(Protocol):
    """rollback, disable_flag, restart_delay, preserve_core, as the buttons see them."""

    def configured(self, action: str, target: Mapping[str, str]) -> bool: ...

    def preview(self, action: str, target: Mapping[str, str]) -> str | None:
        """What the confirm dialog shows (None: the look is still under way)."""

    def execute(self, request: ActionRequest) -> ActionResult:
        """Do it (once; the caller guarantees at most once); raises ActionError."""

    def start(self) -> None:
        """Settle what a dead process left executing (outcome unknown, said once)."""

    def stop(self) -> None: ...

    def verify_due(self) -> int:
        """Run the follow-up checks that are due; how many were done."""


class NoContainment:
    """No containment configured: every action says so."""

    def configured(self, action: str, target: Mapping[str, str]) -> bool:
        return False

    def preview(self, action: str, target: Mapping[str, str]) -> str | None:
        return None

    def execute(self, request: ActionRequest) -> ActionResult:
        from bot.errors import ActionError

        raise ActionError(f"{request.action} is not configured")

    def start(self) -> None:
        return None

    def stop(self) -> None:
        return None

    def verify_due(self) -> int:
        return 0


class ActionStore(Protocol):
    def begin(self, record: ActionRecord) -> bool: ...

    def get(self, action_id: str) -> ActionRecord | None: ...

    def finish(self, action_id: str, *, state: ActionState, detail: str, at: datetime,
               verify_at: datetime | None = None) -> bool: ...

    def executing(self) -> list[ActionRecord]: ...

    def due(self, now: datetime) -> list[ActionRecord]: ...

    def set_verdict(self, action_id: str, verdict: str) -> bool: ...

    def occurrences(self, *, incident_id: int, signature: str | None, since: datetime,
                    until: datetime) -> int: ...

    def ask_approval(self, key: str, *, by: str, at: datetime, fresh_after: datetime
                     ) -> bool: ...

    def approval(self, key: str) -> tuple[str, datetime] | None: ...

    def take_approval(self, key: str, *, by: str, fresh_after: datetime) -> str | None: ...


class Executor(Protocol):
    """Carries out configured actions (HTTP, SSH); never raises for what the far side does."""

    def configured(self, service: str, action: str) -> bool: ...

    def preview(self, action: str, target: Mapping[str, str]) -> str:
        """The current state the action will change (a read-only look)."""

    def run(self, action: str, target: Mapping[str, str], *, action_id: str,
            values: Mapping[str, str]) -> Outcome: ...

    def second_approver(self, service: str, action: str) -> bool: ...

    def verify_after(self, service: str) -> timedelta: ...

    def host_crashes(self, service: str, since: datetime) -> tuple[HostCount, ...] | None:
        """New cores of the service on each of its hosts since `since` (None: not asked)."""


Announce = Callable[[int, str], None]  # (incident id, text) -> the incident's channel
