"""What `/segfault ...` does once parsed: the first answer (sent with the 3-second ack) and the
work after it (incident, channel, diagnosis; status; resolve; decode)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from bot.app import texts
from bot.app.incidents import assign_role, change_status, request_diagnoses
from bot.app.occurrences import Asked, request_diagnosis
from bot.app.ports.schedule import Announcer, ScheduleStore
from bot.app.ports.slack import Chat, Reply, SlackStore
from bot.app.ports.store import Store
from bot.app.proposals import authorize
from bot.app.slack_flows import SlackFlows
from bot.app.slack_policy import SlackPolicy
from bot.app.slash_grammar import (
    HELP,
    Command,
    Decode,
    Diagnose,
    Help,
    IncidentVerb,
    Invalid,
    Note,
    parse,
)
from bot.domain.decode import decode_text
from bot.domain.incident import DiagnosisRequest, Incident, Role, Status, TimelineEvent
from bot.domain.mrkdwn import escape


def first_answer(command: Command) -> str | None:
    """The ephemeral text sent with the ack (None: ack silently, answer after the work)."""
    if isinstance(command, Help):
        return HELP
    if isinstance(command, Invalid):
        return f"Sorry: {command.reason}. Try `/segfault help`."
    if isinstance(command, Diagnose):
        return f"Opening the incident for {command.service} on {command.host}…"
    return None


def works_after_ack(command: Command) -> bool:
    """Whether the command's answer comes after the ack (its request is stored first)."""
    return not isinstance(command, Help | Invalid)


def diagnose_rules(rules: Mapping[str, Sequence[str]]) -> dict[str, Sequence[str]]:
    """`authorization.diagnose`, else the Re-run button's rule: /segfault HOST SERVICE starts
    the same production diagnosis (core extraction included) that button does."""
    return {**rules, "diagnose": rules.get("diagnose") or rules.get("rerun", ())}


class SlashCommands:
    """`/segfault` once parsed, with the collaborators its verbs use."""

    def __init__(self, *, flows: SlackFlows, store: Store, slack_store: SlackStore, chat: Chat,
                 announcer: Announcer, schedule: ScheduleStore, policy: SlackPolicy,
                 clock: Callable[[], datetime]) -> None:
        self.flows, self.store, self.slack_store, self.chat = flows, store, slack_store, chat
        self.announcer, self.schedule, self.policy, self.clock = (announcer, schedule, policy,
                                                                  clock)

    def parse(self, text: str) -> Command:
        return parse(text, services=self.policy.services)

    def run(self, command: Command, *, user: str, channel: str, reply: Reply,
            request_id: str | None = None, at: datetime | None = None) -> None:
        """The work after the ack; the answer goes to the user only. A stored request
        (`request_id`, received `at`) is recorded with its effect, so a replay does it once."""
        if isinstance(command, Diagnose):
            verdict = authorize(user=user, action="diagnose",
                                rules=diagnose_rules(self.policy.authorization), chat=self.chat)
            with self.store.transaction() as tx:
                tx.audit(at=self.clock(), actor=user, action="command:diagnose",
                         subject=f"host:{command.host} service:{command.service}",
                         detail=("allowed" if verdict.allowed else "refused")
                         + f": {verdict.reason}")
            if not verdict.allowed:
                reply.text(texts.refused(verdict.reason))
                return
            self._diagnose(command, user=user, reply=reply, request_id=request_id, at=at)
        elif isinstance(command, Decode):
            reply.decoded(decode_text(command.text, now=self.clock()))
        elif isinstance(command, IncidentVerb):
            reply.text(self._incident_verb(command, user=user, channel=channel))
        elif isinstance(command, Note):
            reply.text(self._note(command, user=user, channel=channel))

    def _elsewhere(self, incident_id: int, *, user: str, channel: str) -> str | None:
        """Why `user` may not reach incident `incident_id` from `channel` (None: they may). In the
        incident's own channel anyone there may; elsewhere only who may diagnose."""
        place = self.slack_store.place(incident_id)
        if place is not None and place.dedicated and place.channel == channel:
            return None
        verdict = authorize(user=user, action="diagnose",
                            rules=diagnose_rules(self.policy.authorization), chat=self.chat)
        if verdict.allowed:
            return None
        return (f"Not allowed: incident #{incident_id} is not this channel's, and {verdict.reason}"
                " (ask in the incident's channel).")

    def _note(self, command: Note, *, user: str, channel: str) -> str:
        from bot.app.timeline_capture import add_note

        incident_id = command.incident_id
        if incident_id is None:
            place = self.slack_store.place_for_channel(channel)
            if place is None:
                return ("This channel is not an incident channel: give the number, "
                        "`/segfault note #12 what happened`.")
            incident_id = place.incident_id
        refused = self._elsewhere(incident_id, user=user, channel=channel)
        if refused is not None:
            return refused
        if self.flows.incident(incident_id) is None:
            return f"There is no incident #{incident_id}."
        add_note(store=self.store, incident_id=incident_id, user=user, text=command.text,
                 now=self.clock())
        return f"Added to the timeline of incident #{incident_id}."

    def _postmortem(self, incident_id: int, *, user: str) -> str:
        from bot.domain.postmortem import draft_postmortem
        from bot.domain.postmortem_render import to_markdown

        detail = self.store.incident_detail(incident_id)
        place = self.slack_store.place(incident_id)
        if detail is None or place is None:
            return f"Incident #{incident_id} has no place in Slack to upload its postmortem to."
        now = self.clock()
        self.announcer.upload(place, filename=f"postmortem-incident-{incident_id}.md",
                               title=f"Postmortem draft: incident #{incident_id}",
                               content=to_markdown(draft_postmortem(
                                   detail, self.schedule.crash_times(incident_id))))
        with self.store.transaction() as tx:
            tx.add_event(incident_id, TimelineEvent(now, "postmortem", "postmortem draft uploaded",
                                                    actor=user, source="slack"))
        return (f"The postmortem draft of incident #{incident_id} is in <#{place.channel}> "
                f"(`segbot postmortem {incident_id}` gives it as Markdown or JSON).")

    def _diagnose(self, command: Diagnose, *, user: str, reply: Reply,
                  request_id: str | None = None, at: datetime | None = None) -> None:
        now = at or self.clock()
        # A request is a timeline event, not a crash: the diagnosis counts what happened.
        requested = request_diagnosis(
            store=self.store, host=command.host, service=command.service, actor=user, now=now,
            window=self.policy.group_window,
            asked=Asked(f"/segfault {command.host} {command.service}", request_id))
        incident_id = requested.incident_id
        # The host is reached while the channel is created: the first result waits for neither.
        self.flows.invite_when_opened(incident_id, (user,))
        if requested.diagnoses:
            request_diagnoses(store=self.store, trigger=self.flows.trigger,
                              requests=requested.diagnoses)
        else:  # asked again by a person: diagnose again
            self.flows.trigger(DiagnosisRequest(incident_id, command.host, command.service,
                                                again=f"{now:%Y%m%dT%H%M%S.%f}-{user}"[:64]))
        place = self.flows.ensure_place(incident_id, invite=(user,))
        opened = "opened" if requested.opened else "joined"
        reply.text(f"Incident #{incident_id} {opened}: <#{place.channel}>. "
                   f"Diagnosing {command.host}; the report there fills in as it runs.")

    def _incident_verb(self, command: IncidentVerb, *, user: str,
                       channel: str) -> str:
        incident_id = command.incident_id
        if incident_id is None:
            place = self.slack_store.place_for_channel(channel)
            if place is None:
                return (f"This channel is not an incident channel: give the number, "
                        f"`/segfault {command.verb} 12`.")
            incident_id = place.incident_id
        if command.verb != "resolve":  # resolve has its own rule, checked below
            refused = self._elsewhere(incident_id, user=user, channel=channel)
            if refused is not None:
                return refused
        incident = self.flows.incident(incident_id)
        if incident is None:
            return f"There is no incident #{incident_id}."
        if command.verb == "status":
            return _status(incident)
        if command.verb == "postmortem":
            return self._postmortem(incident_id, user=user)
        if command.verb == "commander":
            return self._take_command(incident, user=user)
        verdict = authorize(user=user, action="resolve", rules=self.policy.authorization,
                            chat=self.chat)
        now = self.clock()
        with self.store.transaction() as tx:
            tx.audit(at=now, actor=user, action="command:resolve",
                     subject=f"incident:{incident_id}",
                     detail=("allowed" if verdict.allowed else "refused") + f": {verdict.reason}")
            tx.add_event(incident_id, TimelineEvent(
                now, "command", f"<@{user}> ran /segfault resolve: "
                + ("allowed" if verdict.allowed else f"refused ({verdict.reason})"),
                actor=user, source="slack"))
        if not verdict.allowed:
            return texts.refused(verdict.reason)
        moved = change_status(store=self.store, incident_id=incident_id, status=Status.RESOLVED,
                              actor=user, now=now)
        self.slack_store.close_proposals(incident_id, state="void", at=now)
        self.flows.touch(incident_id)
        return f"Incident #{incident_id} " + ("resolved." if moved else "was already resolved.")


    def _take_command(self, incident: Incident, *, user: str) -> str:
        """Whoever may reach the incident may take command; the timeline says who handed over."""
        if incident.commander == user:
            return f"You are already the commander of incident #{incident.id}."
        assign_role(store=self.store, incident_id=incident.id, role=Role.COMMANDER, who=user,
                    actor=user, now=self.clock())
        self.flows.touch(incident.id)
        before = f" (from <@{incident.commander}>)" if incident.commander else ""
        return f"You are now the commander of incident #{incident.id}{before}."


def _status(incident: Incident) -> str:
    hosts = escape(", ".join(incident.hosts[:10])) or "no host yet"  # as alerts named them
    return (f"Incident #{incident.id} {escape(incident.service)}: *{incident.status}*, "
            f"{incident.occurrences} occurrence(s) on {hosts}; signature "
            f"`{escape(incident.signature or 'not known yet')}`; last seen "
            f"{incident.last_seen:%Y-%m-%d %H:%M:%S} UTC; commander "
            + (f"<@{incident.commander}>." if incident.commander else
               "none yet (`/segfault commander` takes it)."))
