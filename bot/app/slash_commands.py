"""What `/segfault ...` does once parsed: the first answer (sent with the 3-second ack) and the
work after it (incident, channel, diagnosis; status; resolve; decode)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.app import texts
from bot.app.incidents import change_status, request_diagnoses
from bot.app.occurrences import request_diagnosis
from bot.app.proposals import authorize
from bot.app.slack_flows import SlackFlows
from bot.app.slack_ports import Reply
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
from bot.domain.incident import DiagnosisRequest, Incident, Status, TimelineEvent
from bot.domain.mrkdwn import escape


def parse_command(flows: SlackFlows, text: str) -> Command:
    return parse(text, services=flows.policy.services)


def first_answer(command: Command) -> str | None:
    """The ephemeral text sent with the ack (None: ack silently, answer after the work)."""
    if isinstance(command, Help):
        return HELP
    if isinstance(command, Invalid):
        return f"Sorry: {command.reason}. Try `/segfault help`."
    if isinstance(command, Diagnose):
        return f"Opening the incident for {command.service} on {command.host}…"
    return None


def diagnose_rules(rules: Mapping[str, Sequence[str]]) -> dict[str, Sequence[str]]:
    """`authorization.diagnose`, else the Re-run button's rule: /segfault HOST SERVICE starts
    the same production diagnosis (core extraction included) that button does."""
    return {**rules, "diagnose": rules.get("diagnose") or rules.get("rerun", ())}


def run_command(flows: SlackFlows, command: Command, *, user: str, channel: str,
                reply: Reply) -> None:
    """The work after the ack; the answer goes to the user only."""
    if isinstance(command, Diagnose):
        verdict = authorize(user=user, action="diagnose",
                            rules=diagnose_rules(flows.policy.authorization), chat=flows.chat)
        with flows.store.transaction() as tx:
            tx.audit(at=flows.clock(), actor=user, action="command:diagnose",
                     subject=f"host:{command.host} service:{command.service}",
                     detail=("allowed" if verdict.allowed else "refused")
                     + f": {verdict.reason}")
        if not verdict.allowed:
            reply.text(texts.refused(verdict.reason))
            return
        _diagnose(flows, command, user=user, reply=reply)
    elif isinstance(command, Decode):
        reply.decoded(decode_text(command.text, now=flows.clock()))
    elif isinstance(command, IncidentVerb):
        reply.text(_incident_verb(flows, command, user=user, channel=channel))
    elif isinstance(command, Note):
        reply.text(_note(flows, command, user=user, channel=channel))


def _elsewhere(flows: SlackFlows, incident_id: int, *, user: str, channel: str) -> str | None:
    """Why `user` may not reach incident `incident_id` from `channel` (None: they may). In the
    incident's own channel anyone there may; elsewhere only who may diagnose."""
    place = flows.slack_store.place(incident_id)
    if place is not None and place.dedicated and place.channel == channel:
        return None
    verdict = authorize(user=user, action="diagnose",
                        rules=diagnose_rules(flows.policy.authorization), chat=flows.chat)
    if verdict.allowed:
        return None
    return (f"Not allowed: incident #{incident_id} is not this channel's, and {verdict.reason}"
            " (ask in the incident's channel).")


def _note(flows: SlackFlows, command: Note, *, user: str, channel: str) -> str:
    from bot.app.timeline_capture import add_note

    incident_id = command.incident_id
    if incident_id is None:
        place = flows.slack_store.place_for_channel(channel)
        if place is None:
            return ("This channel is not an incident channel: give the number, "
                    "`/segfault note #12 what happened`.")
        incident_id = place.incident_id
    refused = _elsewhere(flows, incident_id, user=user, channel=channel)
    if refused is not None:
        return refused
    if flows.incident(incident_id) is None:
        return f"There is no incident #{incident_id}."
    add_note(store=flows.store, incident_id=incident_id, user=user, text=command.text,
             now=flows.clock())
    return f"Added to the timeline of incident #{incident_id}."


def _postmortem(flows: SlackFlows, incident_id: int, *, user: str) -> str:
    from bot.domain.postmortem import draft_postmortem
    from bot.domain.postmortem_render import to_markdown

    detail = flows.store.incident_detail(incident_id)
    place = flows.slack_store.place(incident_id)
    if detail is None or place is None or flows.announcer is None:
        return f"Incident #{incident_id} has no place in Slack to upload its postmortem to."
    now = flows.clock()
    flows.announcer.upload(place, filename=f"postmortem-incident-{incident_id}.md",
                           title=f"Postmortem draft: incident #{incident_id}",
                           content=to_markdown(draft_postmortem(
                               detail, flows.schedule.crash_times(incident_id)
                               if flows.schedule else ())))
    with flows.store.transaction() as tx:
        tx.add_event(incident_id, TimelineEvent(now, "postmortem", "postmortem draft uploaded",
                                                actor=user, source="slack"))
    return (f"The postmortem draft of incident #{incident_id} is in <#{place.channel}> "
            f"(`segbot postmortem {incident_id}` gives it as Markdown or JSON).")


def _diagnose(flows: SlackFlows, command: Diagnose, *, user: str, reply: Reply) -> None:
    now = flows.clock()
    # A request is a timeline event, not a crash: the diagnosis counts what happened.
    requested = request_diagnosis(store=flows.store, host=command.host,
                                  service=command.service, actor=user, now=now,
                                  window=flows.policy.group_window)
    incident_id = requested.incident_id
    with flows.store.transaction() as tx:
        tx.add_event(incident_id, TimelineEvent(
            now, "command", f"/segfault {command.host} {command.service}", actor=user,
            source="slack"))
    # The host is reached while the channel is created: the first result waits for neither.
    flows.invite_when_opened(incident_id, (user,))
    if requested.diagnoses:
        request_diagnoses(store=flows.store, trigger=flows.trigger,
                          requests=requested.diagnoses)
    else:  # asked again by a person: diagnose again
        flows.trigger(DiagnosisRequest(incident_id, command.host, command.service,
                                       again=f"{now:%Y%m%dT%H%M%S.%f}-{user}"[:64]))
    place = flows.ensure_place(incident_id, invite=(user,))
    opened = "opened" if requested.opened else "joined"
    reply.text(f"Incident #{incident_id} {opened}: <#{place.channel}>. "
               f"Diagnosing {command.host}; the report there fills in as it runs.")


def _incident_verb(flows: SlackFlows, command: IncidentVerb, *, user: str,
                   channel: str) -> str:
    incident_id = command.incident_id
    if incident_id is None:
        place = flows.slack_store.place_for_channel(channel)
        if place is None:
            return (f"This channel is not an incident channel: give the number, "
                    f"`/segfault {command.verb} 12`.")
        incident_id = place.incident_id
    if command.verb != "resolve":  # resolve has its own rule, checked below
        refused = _elsewhere(flows, incident_id, user=user, channel=channel)
        if refused is not None:
            return refused
    incident = flows.incident(incident_id)
    if incident is None:
        return f"There is no incident #{incident_id}."
    if command.verb == "status":
        return _status(incident)
    if command.verb == "postmortem":
        return _postmortem(flows, incident_id, user=user)
    verdict = authorize(user=user, action="resolve", rules=flows.policy.authorization,
                        chat=flows.chat)
    now = flows.clock()
    with flows.store.transaction() as tx:
        tx.audit(at=now, actor=user, action="command:resolve", subject=f"incident:{incident_id}",
                 detail=("allowed" if verdict.allowed else "refused") + f": {verdict.reason}")
        tx.add_event(incident_id, TimelineEvent(
            now, "command", f"<@{user}> ran /segfault resolve: "
            + ("allowed" if verdict.allowed else f"refused ({verdict.reason})"),
            actor=user, source="slack"))
    if not verdict.allowed:
        return texts.refused(verdict.reason)
    moved = change_status(store=flows.store, incident_id=incident_id, status=Status.RESOLVED,
                          actor=user, now=now)
    flows.slack_store.close_proposals(incident_id, state="void", at=now)
    flows.updater.touch(incident_id)
    return f"Incident #{incident_id} " + ("resolved." if moved else "was already resolved.")


def _status(incident: Incident) -> str:
    hosts = escape(", ".join(incident.hosts[:10])) or "no host yet"  # as alerts named them
    return (f"Incident #{incident.id} {escape(incident.service)}: *{incident.status}*, "
            f"{incident.occurrences} occurrence(s) on {hosts}; signature "
            f"`{escape(incident.signature or 'not known yet')}`; last seen "
            f"{incident.last_seen:%Y-%m-%d %H:%M:%S} UTC.")
