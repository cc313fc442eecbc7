"""Containment actions as values: kinds, the record's states, the version to roll back to,
strict templates, and the texts previews and verdicts show."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from bot.domain.evidence import Deploy, Fact
from bot.domain.mrkdwn import escape

# restart_delay_revert is the "take the restart delay away again" button.
KINDS = ("rollback", "disable_flag", "restart_delay", "restart_delay_revert", "preserve_core")
# The values a URL, body or command template may name; anything else is refused at load time.
PLACEHOLDERS = frozenset({"service", "version", "to_version", "flag", "incident", "action_id",
                          "host", "unit", "requested_by"})

#: What a version or a feature flag's name may look like wherever it was read (a service's own
#: log lines, an alert): it fills URL, body and command templates, so it is checked when parsed
#: and again just before an action runs.
TARGET_VALUE = re.compile(r"[A-Za-z0-9._+-]{1,64}")
CHECKED_TARGETS = ("version", "to_version", "flag")

ActionState = Literal["executing", "succeeded", "failed", "unknown"]
# executing is entered once (the intent, by compare-and-set); each end state is final.
_MOVES: dict[str, frozenset[str]] = {
    "executing": frozenset({"succeeded", "failed", "unknown"}),
    "succeeded": frozenset(), "failed": frozenset(), "unknown": frozenset(),
}


class TemplateError(ValueError):
    """A template names a placeholder it may not, or a value it needs is missing."""


def unsafe_targets(target: Mapping[str, str]) -> list[str]:
    """The versions and flags in `target` that do not look like one (TARGET_VALUE)."""
    return [key for key in CHECKED_TARGETS
            if key in target and not TARGET_VALUE.fullmatch(target[key])]


def can_move(current: str, new: str) -> bool:
    return new in _MOVES.get(current, frozenset())


@dataclass(frozen=True)
class ActionRecord:
    """One containment action: its intent (written first) and what became of it."""

    id: str  # the proposal id; also the Idempotency-Key of every call made for it
    incident_id: int
    action: str
    target: Mapping[str, str]
    requested_by: str
    state: ActionState
    created_at: datetime
    detail: str = ""
    finished_at: datetime | None = None
    verify_at: datetime | None = None
    verdict: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What an executor could say: succeeded, failed (nothing changed, as far as we know) or
    unknown (the request may have taken effect: never retried by itself)."""

    state: Literal["succeeded", "failed", "unknown"]
    text: str
    before: Mapping[str, str] = field(default_factory=dict)
    after: Mapping[str, str] = field(default_factory=dict)


# -- the version to roll back to --------------------------------------------------------------

def rollback_version(facts: Sequence[Fact], crashing: str | None) -> str | None:
    """The version deployed before `crashing`, from the deploy markers (newest first by time;
    markers without a time keep their order). None when the markers show no earlier one."""
    deploys = [f for f in facts if isinstance(f, Deploy) and f.version]
    ordered = sorted(enumerate(deploys), key=lambda p: (
        p[1].time.timestamp() if p[1].time else float("-inf"), p[0]))
    versions: list[str] = []
    for _, deploy in ordered:
        assert deploy.version is not None
        if not versions or versions[-1] != deploy.version:
            versions.append(deploy.version)
    if crashing is None:
        crashing = versions[-1] if versions else None
    if crashing not in versions:
        return None
    position = max(i for i, v in enumerate(versions) if v == crashing)
    earlier = [v for v in versions[:position] if v != crashing]
    return earlier[-1] if earlier else None


# -- templates -----------------------------------------------------------------------------

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def fields_of(template: str) -> set[str]:
    """The placeholders `{name}` a template names; TemplateError when it is malformed."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        raise TemplateError(f"{template!r}: {error}") from None
    names: set[str] = set()
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name or spec or conversion or not name.isidentifier():
            raise TemplateError(f"{template!r}: placeholders are plain {{name}}s")
        names.add(name)
    return names


def check_template(value: Any, where: str) -> None:
    """Every string in `value` (a body may nest) names only known placeholders."""
    for text in _strings(value):
        unknown = fields_of(_ENV.sub("", text)) - PLACEHOLDERS
        if unknown:
            raise TemplateError(f"{where}: unknown placeholder(s) "
                                f"{', '.join(sorted(unknown))} (known: "
                                f"{', '.join(sorted(PLACEHOLDERS))})")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for k, v in value.items() for s in _strings(k) + _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


def render(template: str, values: Mapping[str, str],
           quote: Any = None, environ: Mapping[str, str] | None = None) -> str:
    """Fill `{name}`s from `values` (quoted by `quote`; a missing one is an error) and the
    template's own `${ENV}`s from `environ`; a value is never read for `${...}`."""
    filled = {k: (quote(v) if quote else v) for k, v in values.items()}
    out, last = [], 0
    for match in [*_ENV.finditer(template), None]:
        end = match.start() if match is not None else len(template)
        part = template[last:end]
        missing = fields_of(part) - set(values)
        if missing:
            raise TemplateError(f"no value for {', '.join(sorted(missing))} in {template!r}")
        out.append(part.format_map(filled))
        if match is not None:
            out.append(match.group(0) if environ is None else _env_value(match, environ))
            last = match.end()
    return "".join(out)


def _env_value(match: re.Match[str], environ: Mapping[str, str]) -> str:
    name = match.group(1)
    if name not in environ:
        raise TemplateError(f"environment variable {name} is not set")
    return environ[name]


def render_body(body: Any, values: Mapping[str, str]) -> Any:
    """A JSON body template: every string (keys too) rendered; numbers, booleans kept."""
    if isinstance(body, str):
        return render(body, values)
    if isinstance(body, Mapping):
        return {render(str(k), values): render_body(v, values) for k, v in body.items()}
    if isinstance(body, (list, tuple)):
        return [render_body(v, values) for v in body]
    return body


def expand_env(text: str, environ: Mapping[str, str]) -> str:
    """`${NAME}` from the environment (secrets live there, never in the config)."""
    return _ENV.sub(lambda match: _env_value(match, environ), text)


def env_names(text: str) -> list[str]:
    return _ENV.findall(text)


# -- what systemd says -----------------------------------------------------------------------

SHOWN = ("Restart", "RestartUSec", "NRestarts", "StartLimitIntervalUSec", "StartLimitBurst",
         "LimitCORE", "LimitCORESoft", "ActiveState", "SubState")


def parse_show(text: str) -> dict[str, str]:
    """`systemctl show -p A -p B` output (A=value lines) as a mapping."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip():
            values[key.strip()] = value.strip()
    return values


def core_capture_off(values: Mapping[str, str]) -> bool:
    return values.get("LimitCORE") == "0"


_SETTINGS = ("RestartUSec", "StartLimitIntervalUSec", "StartLimitBurst", "LimitCORE")


def changed_text(before: Mapping[str, str], after: Mapping[str, str]) -> str:
    """The unit's settings the action really changed, as re-read after it ("RestartUSec
    200ms -> 30s"); a setting that kept its value is not a change and is not listed."""
    changes = [f"{key} {before.get(key, '?')} -> {after[key]}" for key in _SETTINGS
               if key in after and before.get(key) != after[key]]
    if not after:
        return "state after the change could not be read"
    if not changes:
        kept = ", ".join(f"{k}={after[k]}" for k in _SETTINGS if k in after)
        return f"no setting changed ({kept})"
    return ", ".join(changes)


def show_text(values: Mapping[str, str]) -> str:
    keys = [k for k in ("RestartUSec", "NRestarts", "LimitCORE", "ActiveState") if k in values]
    return ", ".join(f"{k}={values[k]}" for k in keys) or "unknown"


# -- what people read ----------------------------------------------------------------------

def verdict(*, action: str, count: int, seconds: float) -> str:
    """The verification's line: crash-free (for how long), or still crashing (how many)."""
    since = {"rollback": "the rollback", "disable_flag": "the flag was disabled",
             "restart_delay": "the restart delay"}.get(action, f"the {action.replace('_', ' ')}")
    if count == 0:
        span = (f"{int(seconds // 60)} minutes" if seconds >= 60
                else f"{int(seconds)} seconds")
        return f"crash-free for {span} since {since}"
    return f"still crashing: {count} since {since}"


def describe(action: str, target: Mapping[str, str]) -> str:
    """The one line a preview starts with: what exactly will be done (Slack-escaped: targets
    come from alerts and logs)."""
    target = {k: escape(v) for k, v in target.items()}
    service = target.get("service", "?")
    if action == "rollback":
        to = target.get("to_version") or "the previous release (the deploy system's choice)"
        return f"roll {service} back from {target.get('version') or 'the current release'} to {to}"
    if action == "disable_flag":
        return f"turn feature flag {target.get('flag', '?')} off for {service}"
    if action == "restart_delay":
        return f"slow {service}'s restart loop on {target.get('host', 'its hosts')}"
    if action == "restart_delay_revert":
        return f"remove segbot's restart delay from {service} on {target.get('host', '?')}"
    if action == "preserve_core":
        return f"copy the newest core of {service} off {target.get('host', '?')}"
    return f"{action} for {service}"


def how_to_check(action: str, target: Mapping[str, str]) -> str:
    """Where a person looks to learn whether an action whose outcome is unknown took effect
    (Slack-escaped, as `describe`)."""
    target = {k: escape(v) for k, v in target.items()}
    service, host = target.get("service", "?"), target.get("host", "its hosts")
    unit = target.get("unit") or f"{service}.service"
    if action == "rollback":
        return f"the deploy system: which version of {service} runs now"
    if action == "disable_flag":
        return f"the flag service: whether {target.get('flag', '?')} is off for {service}"
    if action in {"restart_delay", "restart_delay_revert"}:
        return f"`systemctl show -p RestartUSec {unit}` on {host}"
    if action == "preserve_core":
        return f"the evidence directory for a copy of the newest core from {host}"
    return f"the far side of {action} for {service}"
