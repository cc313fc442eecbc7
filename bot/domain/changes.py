"""Change events as values: a deploy, a flag flip or a config change of one service, from
wherever it happened (a CD system, a flag service, a deploy script), and the checks every
field passes before it is stored (values later reach rollback templates and git argv)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from bot.domain.redact import redact

ChangeKind = Literal["deploy", "flag", "config"]
KINDS: tuple[ChangeKind, ...] = ("deploy", "flag", "config")

# A version is a tag-like word: it becomes a rollback target and a git ref candidate.
VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+~-]{0,63}")
COMMIT = re.compile(r"[0-9a-f]{7,64}")
BUILD_ID = re.compile(r"[0-9a-f]{8,128}")
SHA256 = re.compile(r"[0-9a-f]{64}")
FLAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}")
HOST = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
STATE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._ %:=-]{0,63}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ChangeRefused(ValueError):
    """A change event that is refused: the reason says which field and why."""


@dataclass(frozen=True)
class ChangeEvent:
    service: str
    kind: ChangeKind
    time: datetime
    source: str  # generic | github | argocd | unleash | launchdarkly | pulled:<service kind>
    version: str | None = None
    commit: str | None = None
    build_ids: tuple[str, ...] = ()
    sha256: tuple[str, ...] = ()
    flag: str | None = None
    state: str | None = None
    hosts: tuple[str, ...] = ()
    by: str | None = None
    url: str | None = None
    key: str = ""  # what makes a re-sent event count once

    def describe(self) -> str:
        """One line: `deploy 2.18.7 (commit 9b7c6fd3) by deploy-bot`, `flag pricing_v4 on`."""
        if self.kind == "flag":
            text = f"flag {self.flag or '?'} {self.state or 'changed'}"
        else:
            text = f"{self.kind} {self.version or '?'}"
            if self.commit:
                text += f" (commit {self.commit[:8]})"
        return text + (f" by {self.by}" if self.by else "")


def checked_event(event: ChangeEvent) -> ChangeEvent:
    """`event` with lower-cased hex fields and a dedup key, or ChangeRefused naming the field."""
    if event.kind not in KINDS:
        raise ChangeRefused(f"kind must be one of {', '.join(KINDS)}")
    if event.time.tzinfo is None:
        raise ChangeRefused("time must carry a timezone (RFC 3339)")
    _match("service", event.service, HOST)
    _match("version", event.version, VERSION)
    commit = _lower(event.commit)
    _match("commit", commit, COMMIT)
    build_ids = tuple(dict.fromkeys(_lower(b) or "" for b in event.build_ids))
    sha256 = tuple(dict.fromkeys(_lower(s) or "" for s in event.sha256))
    for value in build_ids:
        _match("build_ids", value, BUILD_ID)
    for value in sha256:
        _match("sha256", value, SHA256)
    for host in event.hosts:
        _match("hosts", host, HOST)
    _match("flag", event.flag, FLAG)
    _match("state", event.state, STATE)
    for name, text in (("by", event.by), ("url", event.url)):
        if text is not None and (len(text) > 256 or _CONTROL.search(text)):
            raise ChangeRefused(f"{name}: at most 256 characters, no control characters")
    if event.url is not None and not re.match(r"https?://[^\s]+$", event.url):
        raise ChangeRefused("url: must be an http(s) URL")
    if event.kind == "flag" and event.flag is None:
        raise ChangeRefused("a flag change names its flag")
    if event.kind == "deploy" and not (event.version or commit or build_ids or sha256):
        raise ChangeRefused("a deploy names a version, a commit, build_ids or sha256")
    # A CI link may carry a token (?token=, user:password@): kept out of the store and Slack.
    url = redact(event.url) if event.url is not None else None
    checked = replace(event, commit=commit, build_ids=build_ids, sha256=sha256, url=url,
                      hosts=tuple(dict.fromkeys(event.hosts)), key="")
    return replace(checked, key=event.key[:200] or content_key(checked))


def content_key(event: ChangeEvent) -> str:
    """A key from the event's content: the same event sent twice is stored once."""
    fields = {k: v for k, v in event.__dict__.items() if k != "key"}
    fields["time"] = event.time.isoformat()
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True, default=list).encode())
    return f"{event.source}:{digest.hexdigest()[:40]}"


def flag_state(enabled: bool | None) -> str | None:
    return None if enabled is None else ("on" if enabled else "off")


_UNLEASH_STATES = {"feature-environment-enabled": "on", "feature-environment-disabled": "off"}
_UNLEASH_CHANGED = frozenset({
    "feature-created", "feature-updated", "feature-archived", "feature-revived",
    "feature-strategy-add", "feature-strategy-update", "feature-strategy-remove",
    "feature-variants-updated", "feature-environment-variants-updated"})


def unleash_state(event_type: str) -> str | None:
    """An Unleash event type as a flag state: on, off, changed, or None (not a flag edit)."""
    return _UNLEASH_STATES.get(event_type) or (
        "changed" if event_type in _UNLEASH_CHANGED else None)


def launchdarkly_state(actions: list[str], title_verb: str | None,
                       on: bool | None) -> str:
    """A LaunchDarkly audit entry as a flag state: `updateOn` is on or off (from the flag's
    version when the entry carries it, else from its title), anything else "changed"."""
    if "updateOn" not in actions:
        return "changed"
    if on is not None:
        return "on" if on else "off"
    verb = (title_verb or "").lower()
    return "on" if "turned on" in verb else "off" if "turned off" in verb else "changed"


def _lower(value: str | None) -> str | None:
    return value.strip().lower() if value is not None else None


def _match(name: str, value: str | None, pattern: re.Pattern[str]) -> None:
    if value is not None and not pattern.fullmatch(value):
        raise ChangeRefused(f"{name}: {value[:80]!r} is not a plain {name.rstrip('s')} "
                            f"(expected {pattern.pattern})")


@dataclass(frozen=True)
class FlagReport:
    """What a flag service says about some flags: their states now, their recent changes."""

    states: tuple[ChangeEvent, ...] = ()
    changes: tuple[ChangeEvent, ...] = ()
