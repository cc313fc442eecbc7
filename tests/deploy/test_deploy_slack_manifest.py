"""deploy/slack-manifest.yaml: an app manifest Slack accepts (its documented shape and limits),
with the scopes segbot's features need, every event's scope granted, and every URL pointing at
segbot's one Slack route. (tests/slack checks that it is what `segbot manifest --http` prints.)
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from tests.support.deploy_files import DEPLOY

MANIFEST = DEPLOY / "slack-manifest.yaml"

# What segbot cannot work without: /segfault, the report, incident channels, files, user groups.
NEEDED = {"commands", "chat:write", "channels:manage", "channels:read", "channels:join",
          "files:write", "usergroups:read", "groups:write"}
# Scopes Slack knows for bots that segbot may reasonably ask for; anything else is a mistake.
KNOWN = NEEDED | {"chat:write.public", "groups:write", "groups:read", "pins:write",
                  "pins:read", "reactions:read", "users:read", "files:read",
                  # a replica taking a post over reads the history for its metadata
                  "channels:history", "groups:history"}
# The scope Slack requires before it delivers each event (Slack's Events API reference).
EVENT_SCOPES = {"reaction_added": "reactions:read", "pin_added": "pins:read",
                "app_home_opened": None}


def _manifest() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(MANIFEST.read_text())
    return data


def test_shape_and_slack_limits() -> None:
    m = _manifest()
    assert {"display_information", "features", "oauth_config", "settings"} <= set(m)
    assert set(m) <= {"_metadata", "display_information", "features", "oauth_config",
                      "settings"}
    info = m["display_information"]
    assert info["name"] == "segbot" and len(info["name"]) <= 35
    assert 0 < len(info["description"]) <= 140
    if "long_description" in info:
        assert 174 <= len(info["long_description"]) <= 4000
    assert m["features"]["bot_user"]["display_name"] == "segbot"
    json.dumps(m)  # Slack also takes the manifest as JSON: plain types only


def test_scopes_are_what_segbot_uses() -> None:
    scopes = _manifest()["oauth_config"]["scopes"]
    bot = scopes["bot"]
    assert len(bot) == len(set(bot))
    assert NEEDED <= set(bot) <= KNOWN, set(bot) ^ NEEDED
    assert "user" not in scopes  # no user token, ever


def test_slash_command_interactivity_and_events() -> None:
    m = _manifest()
    [command] = m["features"]["slash_commands"]
    assert command["command"] == "/segfault" and len(command["command"]) <= 32
    assert len(command["description"]) <= 2000 and len(command["usage_hint"]) <= 1000
    assert command["should_escape"] is False
    settings = m["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    events = settings.get("event_subscriptions", {}).get("bot_events", [])
    for event in events:
        scope = EVENT_SCOPES[event]
        assert scope is None or scope in m["oauth_config"]["scopes"]["bot"], event


def test_urls_match_the_mode() -> None:
    m = _manifest()
    settings = m["settings"]
    urls = [m["features"]["slash_commands"][0].get("url"),
            settings["interactivity"].get("request_url"),
            settings.get("event_subscriptions", {}).get("request_url")]
    if settings["socket_mode_enabled"]:
        assert urls == [None, None, None]  # Slack would call a URL instead of the socket
    else:
        present = [u for u in urls if u is not None]
        assert present[:2] == urls[:2] and len(present) >= 2
        for url in present:
            assert url.startswith("https://") and url.endswith("/slack/events"), url
