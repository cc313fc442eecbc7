"""Asking the flag service when an incident opens: Unleash's admin API and LaunchDarkly's
audit log over real HTTP (a local server), with the token from the environment, deadlines,
and every failure a one-line reason in the report instead of an exception."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.adapters.flag_service import HttpFlagService
from bot.adapters.store import open_store
from bot.adapters.store.change_store import SqlChangeStore
from bot.app.changes import ServiceSources, Subject, find_changes, pull_flags
from bot.config.changes import FlagServiceSettings
from bot.errors import ChangeSourceError
from changes.flag_server import TOKEN, flag_server, launchdarkly_routes, unleash_routes

NOW = datetime.now(UTC).replace(microsecond=0)
ENV = {"FLAGS_TOKEN": TOKEN}


def settings(kind: str, url: str, **extra: object) -> FlagServiceSettings:
    return FlagServiceSettings.model_validate({"kind": kind, "url": url,
                                               "token_env": "FLAGS_TOKEN", **extra})


def test_unleash_state_and_recent_changes() -> None:
    with flag_server() as server:
        server.routes = unleash_routes(NOW)
        found = HttpFlagService(settings("unleash", server.url), ENV).recent(
            ["pricing_v4"], now=NOW)
    (state,) = found.states
    assert (state.flag, state.state, state.source, state.time) == (
        "pricing_v4", "on", "unleash now", NOW)
    assert [(c.key, c.state, c.by) for c in found.changes] == [
        ("unleash:12", "on", "alice@example.org"),
        ("unleash:10", "changed", "bob@example.org")]  # not dev's, not tags, not 40 days ago
    assert {token for _, _, token in server.requests} == {TOKEN}


def test_launchdarkly_state_and_audit_log() -> None:
    with flag_server() as server:
        server.routes = launchdarkly_routes(NOW)
        found = HttpFlagService(settings("launchdarkly", server.url), ENV).recent(
            ["pricing_v4"], now=NOW)
    assert [(s.flag, s.state) for s in found.states] == [("pricing_v4", "on")]
    assert [(c.state, c.by, c.time) for c in found.changes] == [
        ("on", "alice@example.org", NOW - timedelta(minutes=7))]
    path, query, _ = server.requests[-1]
    assert path == "/api/v2/auditlog"
    assert query["spec"] == ["proj/default:env/production:flag/pricing_v4"]
    assert int(query["after"][0]) == int((NOW - timedelta(hours=24)).timestamp() * 1000)


def test_failures_are_reasons() -> None:
    with flag_server() as server:
        server.routes = unleash_routes(NOW)
        with pytest.raises(ChangeSourceError, match="FLAGS_TOKEN is unset"):
            HttpFlagService(settings("unleash", server.url), {}).recent(["x"], now=NOW)
        with pytest.raises(ChangeSourceError, match="answered 401"):
            HttpFlagService(settings("unleash", server.url), {"FLAGS_TOKEN": "wrong"}).recent(
                ["pricing_v4"], now=NOW)
        with pytest.raises(ChangeSourceError, match="answered 404"):
            HttpFlagService(settings("unleash", server.url), ENV).recent(["nope"], now=NOW)
        server.routes["/api/admin/projects/default/features/pricing_v4"] = 500
        with pytest.raises(ChangeSourceError, match="answered 500"):
            HttpFlagService(settings("unleash", server.url), ENV).recent(["pricing_v4"],
                                                                         now=NOW)
        server.delay = 1.0
        with pytest.raises(ChangeSourceError, match="ReadTimeout"):
            HttpFlagService(settings("unleash", server.url, timeout=0.2), ENV).recent(
                ["pricing_v4"], now=NOW)


def test_pulled_changes_are_kept_and_reported(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'segbot.db'}")
    changes = SqlChangeStore(store.engine)
    try:
        with flag_server() as server:
            server.routes = unleash_routes(NOW, by="mallory\n<!channel>")
            server.routes["/api/admin/events/pricing_v4"]["events"].append(
                {"id": 13, "type": "feature-environment-disabled", "createdBy": "carol",
                 "createdAt": (NOW - timedelta(minutes=3)).isoformat(),
                 "environment": "production"})
            sources = ServiceSources(flags=HttpFlagService(settings("unleash", server.url),
                                                           ENV), watched_flags=("pricing_v4",))
            pulled, why = pull_flags(store=changes, service="checkout-api", sources=sources,
                                     report=None, now=NOW)
            assert why == "" and pulled is not None
            # the hostile `createdBy` entry is skipped, the others are kept, once
            assert [e.key for e in changes.changes("checkout-api")] == [
                "unleash:10", "unleash:13"]
            pull_flags(store=changes, service="checkout-api", sources=sources, report=None,
                       now=NOW)
            assert len(changes.changes("checkout-api")) == 2
            findings = find_changes(store=changes, report=None, sources=sources, git=None,
                                    now=NOW, pulled=pulled,
                                    subject=Subject("checkout-api", None, NOW))
            assert findings is not None
            assert f"flag pricing_v4 on (flag service, as of {NOW:%H:%M:%S})" in \
                findings.lines()
            server.delay = 1.0
            slow = ServiceSources(flags=HttpFlagService(settings(
                "unleash", server.url, timeout=0.2), ENV), watched_flags=("pricing_v4",))
            none, why = pull_flags(store=changes, service="checkout-api", sources=slow,
                                   report=None, now=NOW)
            assert none is None and why.startswith("flag service not asked successfully")
    finally:
        store.engine.dispose()
