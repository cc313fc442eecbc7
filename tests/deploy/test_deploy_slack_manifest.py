"""deploy/slack-manifest.yaml: the app manifest Slack accepts (its documented shape and limits)
with the scopes each segbot feature needs and nothing more."""

from __future__ import annotations

import json
from typing import Any

import yaml
from deploy_helpers import DEPLOY

MANIFEST = DEPLOY / "slack-manifest.yaml"

SCOPES = {"commands", "chat:write", "chat:write.public", "channels:manage", "channels:read",
          "groups:write", "channels:join", "pins:write", "pins:read", "reactions:read",
          "files:write", "usergroups:read", "users:read"}
# The scope Slack requires before it delivers each event (Slack's Events API reference).
EVENT_SCOPES = {"reaction_added": "reactions:read", "pin_added": "pins:read"}


def _manifest() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(MANIFEST.read_text())
    return data


def test_shape_and_slack_limits() -> None:
    m = _manifest()
    assert set(m) == {"display_information", "features", "oauth_config", "settings"}
    info = m["display_information"]
    assert info["name"] == "segbot" and len(info["name"]) <= 35
    assert 0 < len(info["description"]) <= 140
    assert 174 <= len(info["long_description"]) <= 4000
    assert m["features"]["bot_user"]["display_name"] == "segbot"
    json.dumps(m)  # Slack also takes the manifest as JSON: plain types only


def test_scopes_are_exactly_what_segbot_uses() -> None:
    bot = _manifest()["oauth_config"]["scopes"]["bot"]
    assert len(bot) == len(set(bot))
    assert set(bot) == SCOPES
    assert "user" not in _manifest()["oauth_config"]["scopes"]  # no user token, ever


def test_slash_command_interactivity_and_events() -> None:
    m = _manifest()
    [command] = m["features"]["slash_commands"]
    assert command["command"] == "/segfault" and len(command["command"]) <= 32
    assert len(command["description"]) <= 2000 and len(command["usage_hint"]) <= 1000
    assert command["should_escape"] is False
    settings = m["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    events = settings["event_subscriptions"]["bot_events"]
    assert set(events) == set(EVENT_SCOPES)
    for event in events:
        assert EVENT_SCOPES[event] in m["oauth_config"]["scopes"]["bot"], event


def test_socket_mode_with_the_http_alternative_documented() -> None:
    m = _manifest()
    assert m["settings"]["socket_mode_enabled"] is True
    # Socket Mode: no request URL is set (Slack would call it instead of the socket) ...
    text = MANIFEST.read_text()
    assert "request_url" not in json.dumps(m) and "url" not in m["features"]["slash_commands"][0]
    # ... and the HTTP alternative is spelled out, on segbot's one route for Slack.
    commented = [line for line in text.splitlines() if line.strip().startswith("#")]
    urls = [line for line in commented if "https://" in line and "/slack/events" in line]
    assert len(urls) == 3
    assert "SLACK_SIGNING_SECRET" in text and "SLACK_APP_TOKEN" in text
