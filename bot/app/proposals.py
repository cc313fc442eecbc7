"""Buttons as proposals: an opaque expiring id stored with the exact action and target.

A click is checked at click time (who may do this action: configured user and user group ids;
a Slack error while asking means deny), executes at most once (compare-and-set in the store),
and is audited and put on the timeline whether it was allowed, refused or a repeat.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.app import texts
from bot.app.ports.containment import ContainmentActions
from bot.app.ports.slack import Chat, Proposal, ProposalState, SlackStore, Stuck
from bot.app.report_view import Button, Decision
from bot.domain.containment import TARGET_VALUE, how_to_check, rollback_version
from bot.domain.incident import Incident, Status
from bot.domain.report import DecodedReport
from bot.errors import SegbotError

# action -> (button label, destructive: a confirm dialog first)
LABELS: dict[str, tuple[str, bool]] = {
    "restart_delay": ("Slow the restart loop", True),
    "preserve_core": ("Preserve the core", False),
    "disable_flag": ("Disable flag", True),  # + the flag's name
    "rollback": ("Roll back", True),
    "restart_delay_revert": ("Revert the restart delay", True),
    "rerun": ("Re-run diagnostics", False),
    "resolve": ("Resolve", True),
}
BUILT_IN = frozenset({"rerun", "resolve"})  # done by segbot itself, not the actions port
CONTAINMENT = ("restart_delay", "preserve_core", "disable_flag", "rollback")
# undo buttons, offered once their action is done; authorized as the action they undo
REVERTS = {"restart_delay_revert": "restart_delay"}


def targets(incident: Incident, report: DecodedReport | None,
            report_host: str | None) -> list[tuple[str, dict[str, str]]]:
    """The (action, target) pairs the report offers, most urgent first."""
    offered: list[tuple[str, dict[str, str]]] = []
    if report is not None:
        # Only plain names become targets, whichever source reported them (logs, alerts).
        plain = [c for c in report.changes if TARGET_VALUE.fullmatch(c.name)]
        flags = [c for c in plain if c.kind == "feature_flag"]
        deploys = [c for c in plain if c.kind == "deploy"]
        for rec in report.recommendations:
            target = {"service": incident.service}
            if rec.action == "disable_flag" and flags:
                target["flag"] = flags[0].name
            elif rec.action == "rollback" and deploys:
                target["version"] = deploys[0].name
                earlier = report.rollback_to or rollback_version(report.facts, deploys[0].name)
                if earlier and TARGET_VALUE.fullmatch(earlier):
                    target["to_version"] = earlier
            elif rec.action in {"restart_delay", "preserve_core"} and report_host:
                target["host"] = report_host
            elif rec.action not in CONTAINMENT:
                continue
            pair = (rec.action, target)
            if pair not in offered:
                offered.append(pair)
    offered.append(("rerun", {"service": incident.service}))
    offered.append(("resolve", {"incident": str(incident.id)}))
    return offered


def label(action: str, target: Mapping[str, str]) -> str:
    text = LABELS[action][0] if action in LABELS else texts.title(action)
    detail = target.get("flag") or target.get("version")
    if detail:
        text = f"{text} {detail}"
    return text[:75]


def runnable(action: str, target: Mapping[str, str], *, actions: ContainmentActions,
             rules: Mapping[str, Sequence[str]]) -> bool:
    """Offered at all: segbot can do it (configured) and someone may (an authorization rule);
    a button that could only be refused is not shown."""
    configured = action in BUILT_IN or actions.configured(action, target)
    return configured and bool(rules.get(REVERTS.get(action, action)))


def ensure_buttons(*, store: SlackStore, actions: ContainmentActions, incident: Incident,
                   report: DecodedReport | None, report_host: str | None, now: datetime,
                   ttl: timedelta, rules: Mapping[str, Sequence[str]],
                   new_id: Callable[[], str] = lambda: secrets.token_urlsafe(18),
                   ) -> tuple[tuple[Button, ...], tuple[Decision, ...]]:
    """One open proposal per offered (action, target), reused until it expires; the buttons
    and the decisions taken so far. A resolved incident offers no buttons."""
    existing = store.proposals(incident.id)  # an expired one is replaced by a fresh id
    buttons: list[Button] = []
    if incident.status is not Status.RESOLVED:
        offered = targets(incident, report, report_host)
        for undo, done_action in REVERTS.items():  # an undo for each action that was done
            offered += [(undo, dict(p.target)) for p in existing
                        if p.action == done_action and p.state == "done"
                        and (undo, dict(p.target)) not in offered]
        for action, target in offered:
            if not runnable(action, target, actions=actions, rules=rules):
                continue
            if (action in CONTAINMENT or action in REVERTS) and any(
                    p.action == action and dict(p.target) == target
                    and p.state in {"executing", "done", "unknown"} for p in existing):
                continue  # done, under way, or maybe done: never offered for a second run
            current = next((p for p in existing if p.action == action and p.state == "open"
                            and dict(p.target) == target and p.expires_at > now), None)
            if current is None:
                current = Proposal(id=new_id(), incident_id=incident.id, action=action,
                                   target=target, state="open", created_at=now,
                                   expires_at=now + ttl)
                store.add_proposal(current)
            shown = actions.preview(action, target) if action not in BUILT_IN else None
            buttons.append(Button(current.id, action, label(action, target),
                                  LABELS.get(action, ("", True))[1], True, shown))
    decisions = tuple(
        Decision(p.decided_by, p.action, p.state, p.decided_at, p.outcome)
        for p in existing if p.decided_by and p.decided_at is not None)
    return tuple(buttons), decisions


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str


def authorize(*, user: str, action: str, rules: Mapping[str, Sequence[str]],
              chat: Chat) -> Verdict:
    """Whether `user` may do `action` now: listed by id, or a member of a listed user group.
    Asking Slack for a group's members and failing means deny."""
    allowed = rules.get(action, ())
    if not allowed:
        return Verdict(False, texts.nobody_may(action))
    if user in allowed:
        return Verdict(True, "listed")
    for group in (g for g in allowed if g.startswith("S")):
        try:
            members = chat.group_members(group)
        except SegbotError as error:
            return Verdict(False, texts.group_unknown(group, error))
        if user in members:
            return Verdict(True, f"member of {group}")
    return Verdict(False, texts.not_among(user, action))


def settled(stuck: Stuck) -> tuple[ProposalState, str]:
    """What a button whose action was decided without it says: the action's outcome; when
    that is unknown, what to check (segbot does not run it again)."""
    if stuck.state == "succeeded":
        return "done", stuck.detail
    if stuck.state == "failed":
        return "failed", stuck.detail
    where = how_to_check(stuck.proposal.action, stuck.proposal.target)
    return "unknown", (f"segbot stopped while it ran: it may or may not have taken effect. "
                       f"Check {where} before doing it by hand; segbot will not run it again.")


def settle_stuck(*, store: SlackStore, before: datetime, now: datetime) -> set[int]:
    """Buttons left executing by a replica that died after its action was decided (told
    unknown by another replica, or finished), brought to the action's outcome; the incidents
    whose report changed."""
    touched = set()
    for stuck in store.stuck_proposals(before=before):
        state, outcome = settled(stuck)
        store.finish_proposal(stuck.proposal.id, state=state, outcome=outcome, at=now)
        touched.add(stuck.proposal.incident_id)
    return touched
