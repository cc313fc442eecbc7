"""Alerts in, occurrences out: naming host and service from labels, dedup keys, alert times.

Alertmanager, Grafana and the generic route all become the same `Occurrence`; what an alert
cannot name (no host, no service, a time that is not a time) becomes a `Rejected` with a reason.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Literal

AlertSource = Literal["alertmanager", "grafana", "generic", "manual", "diagnosis"]
AlertStatus = Literal["firing", "resolved"]

MAX_NAME = 255
MAX_MESSAGE = 8192


@dataclass(frozen=True)
class LabelRules:
    """Which labels name the host and the service, in order of preference."""

    host: tuple[str, ...] = ("host", "hostname", "node", "instance")
    service: tuple[str, ...] = ("service", "unit", "job")
    message: tuple[str, ...] = ("message", "description", "summary")


@dataclass(frozen=True)
class CrashFacts:
    """What decoding an alert's message told us about the crash it reports."""

    signature: str | None = None
    pid: int | None = None
    signal: str | None = None
    executable: str | None = None
    build_id: str | None = None
    time: datetime | None = None


@dataclass(frozen=True)
class Occurrence:
    """One crash as reported by one alert (or one manual request)."""

    source: AlertSource
    key: str | None  # dedup key: the same alert re-sent has the same key; None = never deduped
    host: str
    service: str
    status: AlertStatus
    time: datetime
    message: str | None = None
    signal: str | None = None
    pid: int | None = None
    signature: str | None = None
    version: str | None = None
    build_id: str | None = None
    executable: str | None = None

    def with_crash(self, facts: CrashFacts) -> Occurrence:
        """This occurrence completed (never overridden) by what its message decoded to."""
        return Occurrence(  # not dataclasses.replace: this runs for every alert of a storm
            source=self.source, key=self.key, host=self.host, service=self.service,
            status=self.status, time=self.time, message=self.message,
            signal=self.signal or facts.signal,
            pid=self.pid if self.pid is not None else facts.pid,
            signature=self.signature or facts.signature,
            version=self.version,
            build_id=self.build_id or facts.build_id,
            executable=self.executable or facts.executable,
        )


@dataclass(frozen=True)
class Rejected:
    """An alert we could not use, and why (shown to the sender in the 4xx/2xx body)."""

    index: int
    reason: str


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(Z|z|[+-]\d{2}:?\d{2})?$"
)


def parse_time(text: str | None) -> datetime | None:
    """RFC 3339 as Go prints it (nanoseconds, `Z`) to an aware UTC datetime; None if not one.

    Go's zero time (`0001-01-01T00:00:00Z`, Alertmanager's "no end") is None too.
    """
    return _parse_time(text) if text else None


@lru_cache(maxsize=4096)  # a storm repeats its startsAt: every re-send, every alert of a group
def _parse_time(text: str) -> datetime | None:
    match = _TIME.match(text.strip())
    if not match:
        return None
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    fraction = (match.group(7) or "")[:6].ljust(6, "0")
    zone = match.group(8) or "Z"
    try:
        value = datetime(year, month, day, hour, minute, second, int(fraction), tzinfo=UTC)
    except ValueError:
        return None
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        offset_minutes = sign * (int(digits[:2]) * 60 + int(digits[2:]))
        try:
            value = value - timedelta(minutes=offset_minutes)
        except OverflowError:
            return None
    if value.year <= 1:
        return None
    return value


def host_of(labels: Mapping[str, str], rules: LabelRules) -> str | None:
    """The host an alert names: the first label of `rules.host` set; `instance` loses its port."""
    for name in rules.host:
        value = (labels.get(name) or "").strip()
        if not value:
            continue
        if name == "instance":
            value = _without_port(value)
        return value or None
    return None


def service_of(labels: Mapping[str, str], rules: LabelRules) -> str | None:
    """The service an alert names: the first label of `rules.service`; `unit` loses `.service`."""
    for name in rules.service:
        value = (labels.get(name) or "").strip()
        if not value:
            continue
        if name == "unit" and value.endswith(".service"):
            value = value[: -len(".service")]
        return value or None
    return None


def _without_port(instance: str) -> str:
    if instance.startswith("["):  # [::1]:9100
        end = instance.find("]")
        return instance[1:end] if end > 0 else instance
    if instance.count(":") == 1:
        host, _, port = instance.partition(":")
        if port.isdigit():
            return host
    return instance


def dedup_key(source: AlertSource, *parts: str) -> str:
    """A bounded, stable key for one distinct alert."""
    digest = hashlib.sha256("\0".join((source, *parts)).encode("utf-8", "surrogatepass"))
    return f"{source}:{digest.hexdigest()[:40]}"


def labelled_occurrence(
    *,
    source: AlertSource,
    index: int,
    status: str,
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    starts_at: str | None,
    fingerprint: str | None,
    received_at: datetime,
    rules: LabelRules,
) -> Occurrence | Rejected:
    """One Alertmanager/Grafana alert to an occurrence keyed by fingerprint + startsAt."""
    host = _opt(host_of(labels, rules), MAX_MESSAGE)  # too long is refused below, not cut
    service = _opt(service_of(labels, rules), MAX_MESSAGE)
    if host is None:
        return Rejected(index, f"no host label (looked for {', '.join(rules.host)})")
    if service is None:
        return Rejected(index, f"no service label (looked for {', '.join(rules.service)})")
    problem = _name_problem(host, "host") or _name_problem(service, "service")
    if problem:
        return Rejected(index, problem)
    started = parse_time(starts_at)
    if starts_at and started is None:
        return Rejected(index, f"startsAt is not an RFC 3339 time: {starts_at[:64]!r}")
    if not fingerprint:
        fingerprint = "labels:" + "\0".join(f"{k}={v}" for k, v in sorted(labels.items()))
    when = started or received_at
    key = dedup_key(source, fingerprint, when.isoformat())
    message = next((annotations[n] for n in rules.message if annotations.get(n)), None)
    message = message or next((labels[n] for n in rules.message if labels.get(n)), None)
    return Occurrence(
        source=source,
        key=key,
        host=host,
        service=service,
        status="resolved" if status == "resolved" else "firing",
        time=when,
        message=_opt(message, MAX_MESSAGE),
        signal=_opt(labels.get("signal"), 32),
        pid=_int(labels.get("pid")),
        version=_opt(labels.get("version")),
        build_id=_opt(labels.get("build_id"), 128),
    )


def generic_occurrence(
    *,
    host: str,
    service: str,
    signal: str | None,
    time: str | None,
    message: str | None,
    alert_id: str | None,
    version: str | None,
    received_at: datetime,
) -> Occurrence | Rejected:
    """The generic route's {host, service, signal?, time?, message?, id?} to an occurrence."""
    host, service = clean_text(host.strip()), clean_text(service.strip())
    if service.endswith(".service"):
        service = service[: -len(".service")]
    problem = _name_problem(host, "host") or _name_problem(service, "service")
    if problem:
        return Rejected(0, problem)
    when = parse_time(time)
    if time and when is None:
        return Rejected(0, f"time is not an RFC 3339 time: {time[:64]!r}")
    return Occurrence(
        source="generic",
        key=dedup_key("generic", alert_id) if alert_id else None,
        host=host,
        service=service,
        status="firing",
        time=when or received_at,
        message=_opt(message, MAX_MESSAGE),
        signal=_opt(signal, 32),
        version=_opt(version),
    )


def clean_text(value: str) -> str:
    """Text any database will store: lone surrogates (from JSON escapes) and NULs replaced."""
    if not value.isascii():
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value.replace("\x00", "\ufffd") if "\x00" in value else value


def _opt(value: str | None, limit: int = MAX_NAME) -> str | None:
    return clean_text(value[:limit]) if value else None


def _name_problem(value: str, what: str) -> str | None:
    if not value:
        return f"{what} is empty"
    if len(value) > MAX_NAME:
        return f"{what} is longer than {MAX_NAME} characters"
    if _CONTROL.search(value):
        return f"{what} contains control characters"
    return None


def _int(text: str | None) -> int | None:
    if text and text.isascii() and text.isdigit() and len(text) < 10:
        return int(text)
    return None
