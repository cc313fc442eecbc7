"""`segbot manifest`: the Slack app manifest for this configuration; the shipped default in
deploy/slack-manifest.yaml is what the command prints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import main

DEPLOYED = Path(__file__).resolve().parents[2] / "deploy" / "slack-manifest.yaml"


def _manifest(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    with pytest.raises(SystemExit) as exit_info:
        main(["manifest", *argv])
    assert exit_info.value.code in (0, None)
    data: dict[str, Any] = yaml.safe_load(capsys.readouterr().out)
    return data


def test_http_manifest_for_a_configuration(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "segbot.yaml"
    config.write_text("slack: {command: /crash, app_name: crashbot}\n")
    data = _manifest(["--config", str(config), "--http", "--url", "https://bot.example.org/"],
                     capsys)
    [command] = data["features"]["slash_commands"]
    assert command["command"] == "/crash"
    assert command["url"] == "https://bot.example.org/slack/events"
    assert data["settings"]["interactivity"] == {
        "is_enabled": True, "request_url": "https://bot.example.org/slack/events"}
    assert data["settings"]["socket_mode_enabled"] is False
    assert data["display_information"]["name"] == "crashbot"
    scopes = set(data["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write", "channels:manage", "files:write",
            "usergroups:read"} <= scopes


def test_socket_mode_manifest_needs_no_url(capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEGBOT_CONFIG", raising=False)
    data = _manifest(["--socket-mode"], capsys)
    assert data["settings"]["socket_mode_enabled"] is True
    assert "url" not in data["features"]["slash_commands"][0]
    assert "request_url" not in data["settings"]["interactivity"]


def test_the_shipped_manifest_is_the_default(capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEGBOT_CONFIG", raising=False)
    assert yaml.safe_load(DEPLOYED.read_text()) == _manifest(["--http"], capsys)


def test_shortcuts_home_tab_and_exactly_their_scopes(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.adapters.slack.listeners.entry import DECODE_CRASH, OPEN_FORM

    monkeypatch.delenv("SEGBOT_CONFIG", raising=False)
    data = _manifest(["--socket-mode"], capsys)
    shortcuts = {s["callback_id"]: s for s in data["features"]["shortcuts"]}
    assert shortcuts[OPEN_FORM]["type"] == "global"
    assert shortcuts[DECODE_CRASH]["type"] == "message"
    assert shortcuts[DECODE_CRASH]["name"] == "Decode crash"
    for shortcut in shortcuts.values():  # Slack's limits
        assert len(shortcut["name"]) <= 24 and len(shortcut["description"]) <= 150
    assert data["features"]["app_home"]["home_tab_enabled"] is True
    assert "app_home_opened" in data["settings"]["event_subscriptions"]["bot_events"]
    scopes = data["oauth_config"]["scopes"]["bot"]
    # files:read for the attached file; shortcuts ride on `commands`; views need no scope.
    assert "files:read" in scopes and "im:write" not in scopes and "users:read" not in scopes
    assert {"groups:write", "groups:read"} <= set(scopes)  # private channels: rename, info
