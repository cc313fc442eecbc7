"""journalctl and syslog lines about a service: systemd's unit messages and the service's own.

systemd[1]: checkout-api.service: Main process exited, code=dumped, status=11/SEGV
systemd[1]: checkout-api.service: Failed with result 'core-dump'.
systemd[1]: checkout-api.service: Scheduled restart job, restart counter is at 6.
checkout-api[19822]: version=2.18.7 git=9b7c6fd3 feature_flags=pricing_v4:on
checkout-api[24891]: request_id=9f2b4d1f path=/checkout/confirm user_agent=MobileApp/412.3
"""

from __future__ import annotations

import json
import re
from datetime import datetime

from bot.domain import signals
from bot.domain.containment import TARGET_VALUE
from bot.domain.evidence import (
    AppMessage,
    CrashEvidence,
    Deploy,
    Fact,
    FeatureFlag,
    Request,
    RestartCounter,
    ServiceExit,
    ServiceLifecycle,
    ServiceResult,
)
from bot.domain.logline import LogLine, parse_line, split_records
from bot.domain.parsers.result import Parsed

_UNIT = r"(?:(?P<unit>[\w@.:\\-]+\.(?:service|scope|socket))[:]? )?"
_EXITED = re.compile(
    _UNIT + r"(?:[Mm]ain|[Cc]ontrol) process exited, code=(?P<code>\w+), status=(?P<status>\d+)"
    r"(?:/(?P<name>[\w/]+))?"
)
_RESULT = re.compile(_UNIT + r"[Ff]ailed with result ['‘’\"](?P<result>[\w-]+)['‘’\"]")
# PID 1's own crash handler: "Caught <SEGV>, dumped core as pid 453." (or "core dump failed").
_CAUGHT = re.compile(r"^Caught (?:<|&lt;)(?P<signal>[A-Z0-9]+)(?:>|&gt;)(?:,|\s+from\s+|$)")
_OLD_FAILED = re.compile(r"^Unit (?P<unit>\S+) entered failed state")
_COUNTER = re.compile(_UNIT + r"Scheduled restart job, restart counter is at (?P<count>\d+)")
_LIFECYCLE = re.compile(
    r"^(?P<unit>[\w@.:\\-]+\.service: )?(?P<event>Started|Stopped|Starting|Stopping)"
    r" (?P<what>.+?)\.?$"
)
_KEYVALUE = re.compile(r"(?P<key>[\w.-]+)=(?P<value>\"[^\"]*\"|'[^']*'|\S+)")
_FATAL = re.compile(
    r"\b(FATAL|fatal error|panic|PANIC|terminate called|Assertion .* failed|"
    r"assertion failed|abort|ERROR|CRITICAL|crashed)\b"
)

_SYSTEMD_IDENTS = frozenset({"systemd", "init"})
_MAY_BE_CAUGHT = _SYSTEMD_IDENTS | {None}
_NOT_APP = {"kernel", "systemd-coredump", "systemd-journald", "sudo", "sshd", "audit"}
_REQUEST_ID = ("request_id", "req_id", "request-id", "requestid", "trace_id", "x_request_id")
_PATH = ("path", "uri", "url", "route", "endpoint")
_AGENT = ("user_agent", "ua", "user-agent", "useragent")
_VERSION = ("version", "app_version", "release", "build_version")
_GIT = ("git", "commit", "git_sha", "sha", "revision")
_FLAGS = ("feature_flags", "flags", "features")


def parse(
    text: str, *, year: int | None = None, host: str | None = None, expected: bool = False
) -> Parsed:
    """Crashes: CrashEvidence(source="systemd") per unit exit by a core-dumping signal (pid,
    unit, signal, time) or systemd's own caught signal. Facts (source="journal"): ServiceExit,
    ServiceResult, RestartCounter, ServiceLifecycle, Deploy, FeatureFlag, Request, AppMessage."""
    lines = split_records(text)
    facts: list[Fact] = []
    crashes: list[CrashEvidence] = []
    claimed: set[int] = set()
    for index, raw in enumerate(lines):
        line = parse_line(raw, year=year)
        if line.ident in _MAY_BE_CAUGHT and (caught := _caught(line, host)):
            crashes.append(caught)
            claimed.add(index)
            continue
        if line.ident in _SYSTEMD_IDENTS or (line.ident is None and ".service" in line.message):
            found = _systemd(line)
        elif line.ident and line.ident not in _NOT_APP:
            found = _application(line)
        else:
            found = []
        for fact in found:
            facts.append(fact)
            if isinstance(fact, ServiceExit) and _crashed(fact):
                crashes.append(
                    CrashEvidence(
                        source="systemd",
                        pid=fact.pid,
                        time=fact.time,
                        unit=fact.unit,
                        signal=fact.signal,
                        host=host or line.host,
                    )
                )
            claimed.add(index)
    return Parsed(
        crashes=tuple(crashes), facts=tuple(facts), claimed=frozenset(claimed), lines=len(lines)
    )


def _crashed(exit: ServiceExit) -> bool:
    """A dump, or a kill by a signal that dumps core by default (SIGKILL after a stop timeout
    is not a crash)."""
    if exit.signal is None:
        return False
    return exit.code == "dumped" or exit.signal in signals.CORE_SIGNALS


def _caught(line: LogLine, host: str | None) -> CrashEvidence | None:
    match = _CAUGHT.match(line.message.strip())
    signal = signals.name_of(match["signal"]) if match else None
    if signal is None:
        return None
    return CrashEvidence(source="systemd", pid=line.pid or 1, process=line.ident or "systemd",
                         time=line.time, signal=signal, host=host or line.host)


def _systemd(line: LogLine) -> list[Fact]:
    message = line.message
    # Each search runs only on a line holding its pattern's fixed words: a unit's log is
    # mostly other lines, read once per host of a fleet.
    if "process exited, code=" in message and (match := _EXITED.search(message)):
        code = match["code"]
        status = int(match["status"])
        signal = None
        if code in {"dumped", "killed"}:
            signal = signals.name_of(match["name"] or str(status)) or signals.name_of(str(status))
        result = "core-dump" if code == "dumped" else None
        return [
            ServiceExit(
                unit=match["unit"],
                code=code,
                status=status,
                signal=signal,
                result=result,
                time=line.time,
                source="journal",
            )
        ]
    if ("ailed with result " in message and (match := _RESULT.search(message))) or (
        message.startswith("Unit ") and (match := _OLD_FAILED.search(message))
    ):
        result = match.groupdict().get("result") or "failed"
        return [ServiceResult(unit=match["unit"], result=result, time=line.time, source="journal")]
    if "Scheduled restart job, " in message and (match := _COUNTER.search(message)):
        return [
            RestartCounter(
                unit=match["unit"], count=int(match["count"]), time=line.time, source="journal"
            )
        ]
    if match := _LIFECYCLE.match(message):
        unit = match["unit"].rstrip(": ") if match["unit"] else None
        return [
            ServiceLifecycle(
                unit=unit,
                event=match["event"].lower(),
                description=match["what"],
                time=line.time,
                source="journal",
            )
        ]
    return []


def _application(line: LogLine) -> list[Fact]:
    fields = _fields(line.message)
    found: list[Fact] = []
    service, pid, time = line.ident, line.pid, line.time
    version, git = _first(fields, _VERSION), _first(fields, _GIT)
    if version is not None and not TARGET_VALUE.fullmatch(version):
        version = None  # any line of the unit's log can say this: never shell or URL text
    if version or (git and _first(fields, _FLAGS)):
        found.append(
            Deploy(service=service, version=version, git=git, time=time, pid=pid, source="journal")
        )
    if flags := _first(fields, _FLAGS):
        found.extend(_flags(flags, time))
    if request_id := _first(fields, _REQUEST_ID):
        found.append(
            Request(
                request_id=request_id,
                path=_first(fields, _PATH),
                user_agent=_first(fields, _AGENT),
                time=time,
                pid=pid,
                source="journal",
            )
        )
    if not found and _FATAL.search(line.message):
        found.append(
            AppMessage(
                process=service, pid=pid, text=line.message[:500], time=time, source="journal"
            )
        )
    return found


def _fields(message: str) -> dict[str, str]:
    stripped = message.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except ValueError:
            data = None
        if isinstance(data, dict):
            return {
                str(k).lower(): str(v) for k, v in data.items() if not isinstance(v, dict | list)
            }
    return {m["key"].lower(): m["value"].strip("\"'") for m in _KEYVALUE.finditer(message)}


def _first(fields: dict[str, str], keys: tuple[str, ...]) -> str | None:
    return next((fields[key] for key in keys if fields.get(key)), None)


def _flags(text: str, time: datetime | None) -> list[Fact]:
    flags: list[Fact] = []
    for item in text.split(","):
        name, _, state = item.partition(":")
        if not TARGET_VALUE.fullmatch(name.strip()):
            continue  # becomes a button's target: only a plain name
        state = (state or "on").strip().lower()
        state = {
            "true": "on",
            "1": "on",
            "enabled": "on",
            "false": "off",
            "0": "off",
            "disabled": "off",
        }.get(state, state)
        flags.append(FeatureFlag(name=name.strip(), state=state, time=time, source="journal"))
    return flags
