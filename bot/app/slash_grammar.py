"""The /segfault grammar: what a user may type, checked against the configuration.

Hosts and services are accepted only when the configuration names them, so chat text never
reaches a shell or an SSH connection; anything else gets an explanation (never an echo of
markup: the offending word is shown escaped and shortened).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
_ID = re.compile(r"#?([0-9]{1,9})")
MAX_DECODE_CHARS = 40_000
MAX_NOTE_CHARS = 1000

HELP = (
    "*/segfault* — crash incidents\n"
    "• `/segfault HOST SERVICE` open (or join) the incident and diagnose HOST\n"
    "• `/segfault status [ID]` where the incident stands\n"
    "• `/segfault resolve [ID]` resolve it (if you are allowed to)\n"
    "• `/segfault commander [ID]` take command of the incident (reminders name you)\n"
    "• `/segfault postmortem [ID]` the postmortem draft, uploaded to the incident channel\n"
    "• `/segfault note TEXT` add a line to the incident's timeline (so does a :pushpin: "
    "or a pin on any message in the incident channel)\n"
    "• `/segfault decode TEXT` decode pasted kernel/journal/gdb output (only you see it)\n"
    "• `/segfault help` this text\n"
    "Without ID, the incident of the channel you are in."
)


@dataclass(frozen=True)
class Diagnose:
    host: str
    service: str


@dataclass(frozen=True)
class IncidentVerb:
    verb: str  # status | resolve | postmortem | commander
    incident_id: int | None  # None: the incident of the current channel


@dataclass(frozen=True)
class Note:
    text: str
    incident_id: int | None  # None: the incident of the current channel


@dataclass(frozen=True)
class Decode:
    text: str


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Invalid:
    reason: str


Command = Diagnose | IncidentVerb | Note | Decode | Help | Invalid


def shown(word: str, limit: int = 40) -> str:
    """A user's word safe to show back in Slack mrkdwn: escaped, shortened, no newlines."""
    word = " ".join(word.split())
    if len(word) > limit:
        word = word[: limit - 1] + "…"
    return word.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("`", "'")


def parse(text: str, *, services: Mapping[str, Collection[str]]) -> Command:
    """`services`: each configured service name and the inventory hosts it runs on."""
    stripped = text.strip()
    if not stripped:
        return Help()
    head, _, rest = stripped.partition(" ")
    verb = head.lower()
    if verb == "help":
        return Help()
    if verb == "decode":
        body = rest.strip()
        if not body:
            return Invalid("`/segfault decode` needs the pasted text after it")
        if len(body) > MAX_DECODE_CHARS:
            return Invalid(f"that is {len(body)} characters; paste at most {MAX_DECODE_CHARS}")
        return Decode(body)
    if verb == "note":
        return _note(rest)
    words = stripped.split()
    if verb in {"status", "resolve", "postmortem", "commander"}:
        if len(words) == 1:
            return IncidentVerb(verb, None)
        match = _ID.fullmatch(words[1])
        if len(words) > 2 or match is None:
            return Invalid(f"`/segfault {verb}` takes an incident number, not "
                           f"`{shown(' '.join(words[1:]))}`")
        return IncidentVerb(verb, int(match.group(1)))
    if len(words) != 2:
        return Invalid("expected `/segfault HOST SERVICE` (or `/segfault help`)")
    host, service = words
    for word, what in ((host, "host"), (service, "service")):
        if not _NAME.fullmatch(word):
            return Invalid(f"`{shown(word)}` is not a {what} name (letters, digits, `.` `_` `-`)")
    # Refusals never list the inventory: anyone in the workspace can type this.
    if service not in services:
        return Invalid(f"unknown service `{shown(service)}`")
    if host not in services[service]:
        return Invalid(f"`{shown(host)}` is not one of {service}'s hosts")
    return Diagnose(host, service)


def _note(rest: str) -> Command:
    """`note [#ID] TEXT`: a timeline line, at most MAX_NOTE_CHARS."""
    first, _, after = rest.strip().partition(" ")
    match = _ID.fullmatch(first) if first.startswith("#") else None
    incident_id = int(match.group(1)) if match else None
    body = (after if match else rest).strip()
    if not body:
        return Invalid("`/segfault note` needs the text to add to the timeline")
    if len(body) > MAX_NOTE_CHARS:
        return Invalid(f"a note is at most {MAX_NOTE_CHARS} characters")
    return Note(body, incident_id)
