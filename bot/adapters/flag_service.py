"""The FlagService port over HTTP (httpx): Unleash's admin API and LaunchDarkly's REST API
v2, asked for each flag's state now and its recent changes (Unleash's feature events,
LaunchDarkly's audit log). Deadlines on every request, no redirects, the token read from the
environment at call time; every failure becomes ChangeSourceError in `_get`."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from bot.config.changes import FlagServiceSettings
from bot.domain.changes import ChangeEvent, FlagReport, launchdarkly_state, unleash_state
from bot.errors import ChangeSourceError

MAX_ANSWER = 4 << 20
MAX_EVENTS = 10_000  # per flag and incident: enough for a day of a busy flag


class HttpFlagService:
    def __init__(self, settings: FlagServiceSettings,
                 environ: Mapping[str, str] = os.environ) -> None:
        self.settings, self.environ = settings, environ

    def recent(self, flags: Sequence[str], *, now: datetime) -> FlagReport:
        token = self.environ.get(self.settings.token_env)
        if not token:
            raise ChangeSourceError(f"{self.settings.kind}: {self.settings.token_env} is unset")
        since = now - timedelta(hours=self.settings.recent_hours)
        states: list[ChangeEvent] = []
        changes: list[ChangeEvent] = []
        with httpx.Client(timeout=self.settings.timeout, follow_redirects=False,
                          headers={"Authorization": token, "Accept": "application/json"},
                          trust_env=False) as client:
            for flag in flags:
                read = _unleash if self.settings.kind == "unleash" else _launchdarkly
                state, recent = read(self, client, flag, since, now)
                states += state
                changes += [c for c in recent if since <= c.time <= now]
        return FlagReport(states=tuple(states), changes=tuple(changes))

    def _get(self, client: httpx.Client, path: str, **params: str) -> Any:
        url = self.settings.url + path
        try:
            answer = client.get(url, params=params)
        except httpx.HTTPError as error:
            raise ChangeSourceError(f"{self.settings.kind}: {type(error).__name__} "
                                    f"asking {path}") from None
        if answer.status_code != 200:
            raise ChangeSourceError(f"{self.settings.kind}: {path} answered "
                                    f"{answer.status_code}")
        if len(answer.content) > MAX_ANSWER:
            raise ChangeSourceError(f"{self.settings.kind}: {path} answered too much")
        try:
            return answer.json()
        except ValueError:
            raise ChangeSourceError(f"{self.settings.kind}: {path} is not JSON") from None


def _unleash(service: HttpFlagService, client: httpx.Client, flag: str, since: datetime,
             now: datetime) -> tuple[list[ChangeEvent], list[ChangeEvent]]:
    s = service.settings
    name = quote(flag, safe="")
    feature = service._get(client, f"/api/admin/projects/{quote(s.project)}/features/{name}")
    envs = feature.get("environments") if isinstance(feature, dict) else None
    enabled = next((e.get("enabled") for e in envs or [] if isinstance(e, dict)
                    and e.get("name") == s.environment), None)
    states = [_now(flag, "unleash", enabled, now)] if isinstance(enabled, bool) else []
    answer = service._get(client, f"/api/admin/events/{name}")
    events, total = _page(answer)
    # The per-flag route answers only the newest 50 events (Unleash 6 to 8): older ones in
    # the window come from the event search, paged by offset in the same newest-first order.
    while isinstance(total, int) and len(events) < min(total, MAX_EVENTS):
        oldest = min((t for e in events if (t := _time(e.get("createdAt"))) is not None),
                     default=None)
        if oldest is None or oldest < since:
            break
        more, _ = _page(service._get(client, "/api/admin/search/events", feature=f"IS:{flag}",
                                     offset=str(len(events)), limit="1000"))
        if not more:
            break
        events += more
    changes, seen = [], set()
    for event in events:
        key = f"unleash:{event.get('id')}"
        if event.get("environment") not in (None, s.environment) or key in seen:
            continue
        seen.add(key)
        state, when = unleash_state(str(event.get("type"))), _time(event.get("createdAt"))
        if state is None or when is None:
            continue
        changes.append(ChangeEvent(
            service="", kind="flag", time=when, source="unleash", flag=flag, state=state,
            by=_short(event.get("createdBy")), key=key))
    return states, changes


def _launchdarkly(service: HttpFlagService, client: httpx.Client, flag: str, since: datetime,
                  now: datetime) -> tuple[list[ChangeEvent], list[ChangeEvent]]:
    s = service.settings
    name = quote(flag, safe="")
    feature = service._get(client, f"/api/v2/flags/{quote(s.project)}/{name}",
                           env=s.environment)
    envs = feature.get("environments") if isinstance(feature, dict) else None
    this = envs.get(s.environment) if isinstance(envs, dict) else None
    on = this.get("on") if isinstance(this, dict) else None
    states = [_now(flag, "launchdarkly", on, now)] if isinstance(on, bool) else []
    answer = service._get(client, "/api/v2/auditlog",
                          spec=f"proj/{s.project}:env/{s.environment}:flag/{flag}",
                          after=str(int(since.timestamp() * 1000)))
    changes = []
    for item in (answer.get("items") if isinstance(answer, dict) else None) or []:
        date = item.get("date") if isinstance(item, dict) else None
        if not isinstance(item, dict) or item.get("kind") != "flag" or not isinstance(
                date, int) or not 0 <= date < 253_402_300_799_999:
            continue
        actions = [str(a.get("action")) for a in item.get("accesses") or []
                   if isinstance(a, dict)]
        member = item.get("member") if isinstance(item.get("member"), dict) else {}
        changes.append(ChangeEvent(
            service="", kind="flag", time=datetime.fromtimestamp(date / 1000, UTC),
            source="launchdarkly", flag=flag,
            state=launchdarkly_state(actions, _short(item.get("titleVerb")), None),
            by=_short((member or {}).get("email")), key=f"launchdarkly:{item.get('_id')}"))
    return states, changes


def _page(answer: Any) -> tuple[list[dict[str, Any]], Any]:
    """Unleash's events (`events`) and how many match (`totalEvents`, or `total` in search)."""
    if not isinstance(answer, dict):
        return [], None
    events = [e for e in answer.get("events") or [] if isinstance(e, dict)]
    return events, answer.get("totalEvents", answer.get("total"))


def _now(flag: str, kind: str, enabled: bool, now: datetime) -> ChangeEvent:
    return ChangeEvent(service="", kind="flag", time=now, source=f"{kind} now", flag=flag,
                       state="on" if enabled else "off", key=f"{kind}-now:{flag}")


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def _short(value: Any) -> str | None:
    return value[:256] if isinstance(value, str) and value else None
