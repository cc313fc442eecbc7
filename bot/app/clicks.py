"""A button click: look up the proposal, check the user at click time, claim it once, do it;
every click, whatever its outcome, is audited and on the timeline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.app import texts
from bot.app.incidents import change_status
from bot.app.ports.containment import ActionRequest, ActionResult, ContainmentActions
from bot.app.ports.slack import Chat, Proposal, ProposalState, SlackStore
from bot.app.ports.store import Store
from bot.app.proposals import BUILT_IN, REVERTS, authorize, label
from bot.app.slack_flows import SlackFlows
from bot.app.slack_policy import SlackPolicy
from bot.domain.incident import DiagnosisRequest, Status, TimelineEvent
from bot.errors import SegbotError


@dataclass(frozen=True)
class ClickAnswer:
    text: str
    executed: bool = False


def _decided(proposal: Proposal) -> str:
    who = f" by <@{proposal.decided_by}>" if proposal.decided_by else ""
    return f"{proposal.state}{who}"



class Clicks:
    """The report's buttons, with the collaborators a click uses."""

    def __init__(self, *, flows: SlackFlows, store: Store, slack_store: SlackStore, chat: Chat,
                 actions: ContainmentActions, policy: SlackPolicy,
                 clock: Callable[[], datetime]) -> None:
        self.flows, self.store, self.slack_store, self.chat = flows, store, slack_store, chat
        self.actions, self.policy, self.clock = actions, policy, clock

    def click(self, *, proposal_id: str, user: str) -> ClickAnswer:
        now = self.clock()
        proposal = self.slack_store.proposal(proposal_id)
        if proposal is None:
            with self.store.transaction() as tx:
                tx.audit(at=now, actor=user, action="click", subject="proposal",
                         detail=f"unknown proposal {proposal_id[:12]!r}: refused")
            return ClickAnswer("This button is not valid (it was not issued by segbot).")
        name = label(proposal.action, proposal.target)
        if proposal.state != "open":
            self._record(proposal, user, now, f"refused: already {_decided(proposal)}")
            return ClickAnswer(texts.already(name, proposal.state, proposal.decided_by, user))
        if proposal.expires_at <= now:
            self._record(proposal, user, now, "refused: the proposal expired")
            self.flows.touch(proposal.incident_id)
            return ClickAnswer(f"*{name}*: this button expired; the report now has a fresh one.")
        verdict = authorize(user=user, action=REVERTS.get(proposal.action, proposal.action),
                            rules=self.policy.authorization, chat=self.chat)
        if not verdict.allowed:
            self._record(proposal, user, now, f"refused: {verdict.reason}")
            return ClickAnswer(texts.refused(verdict.reason))
        if proposal.action not in BUILT_IN and not self.actions.configured(
                proposal.action, proposal.target):
            self._record(proposal, user, now, "refused: action not configured")
            return ClickAnswer(f"*{name}* is not configured: segbot cannot do this yet "
                               "(containment actions are set up per service in the config).")
        if not self.slack_store.claim_proposal(proposal.id, by=user, at=now):
            current = self.slack_store.proposal(proposal.id) or proposal
            self._record(proposal, user, now, f"refused: already {_decided(current)}")
            return ClickAnswer(texts.already(name, current.state, current.decided_by, user))
        self._record(proposal, user, now, f"allowed ({verdict.reason}): executing")
        try:
            result = self._execute(proposal, user, now)
            for host, show in result.unit_states.items():  # the report shows what it changed
                self.flows.unit_state(proposal.incident_id, host, show)
        except SegbotError as error:
            result = ActionResult(False, str(error))
        state: ProposalState = "done" if result.ok else "failed"
        finished = self.clock()
        self.slack_store.finish_proposal(proposal.id, state=state, outcome=result.text,
                                          at=finished)
        with self.store.transaction() as tx:
            tx.add_event(proposal.incident_id, TimelineEvent(
                finished, "action", f"{name} by <@{user}>: {state}: {result.text}",
                actor=user, source="slack"))
            tx.audit(at=finished, actor=user, action=proposal.action,
                     subject=f"incident:{proposal.incident_id}",
                     detail=f"proposal {proposal.id[:8]}: {state}: {result.text}")
        self.flows.touch(proposal.incident_id)
        return ClickAnswer(f"*{name}*: {state} — {result.text}", executed=True)

    def _execute(self, proposal: Proposal, user: str, now: datetime) -> ActionResult:
        if proposal.action == "resolve":
            moved = change_status(store=self.store, incident_id=proposal.incident_id,
                                  status=Status.RESOLVED, actor=user, now=now)
            self.slack_store.close_proposals(proposal.incident_id, state="void", at=now)
            return ActionResult(True, "incident resolved" if moved else "it was already resolved")
        if proposal.action == "rerun":
            incident = self.flows.incident(proposal.incident_id)
            hosts = incident.hosts if incident else ()
            for host in hosts:
                self.flows.trigger(DiagnosisRequest(
                    proposal.incident_id, host,
                    proposal.target.get("service", incident.service if incident else ""),
                    again=proposal.id))
            return ActionResult(bool(hosts), f"diagnosing again: {', '.join(hosts) or 'no host'}")
        return self.actions.execute(ActionRequest(
            proposal_id=proposal.id, incident_id=proposal.incident_id, action=proposal.action,
            target=proposal.target, requested_by=user))

    def _record(self, proposal: Proposal, user: str, now: datetime,
                what: str) -> None:
        name = label(proposal.action, proposal.target)
        with self.store.transaction() as tx:
            tx.audit(at=now, actor=user, action=f"click:{proposal.action}",
                     subject=f"incident:{proposal.incident_id}",
                     detail=f"proposal {proposal.id[:8]}: {what}")
            tx.add_event(proposal.incident_id, TimelineEvent(
                now, "click", f"<@{user}> clicked {name}: {what}", actor=user, source="slack"))
