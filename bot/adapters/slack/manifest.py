"""The Slack app manifest for this configuration: scopes, the slash command, the shortcuts, the
Home tab, interactivity."""

from __future__ import annotations

from typing import Any

from bot.config import SlackSection

BOT_SCOPES = (
    "commands",  # /segfault
    "chat:write",  # the report message, ephemeral answers
    "channels:manage",  # create incident channels, invite, set the topic
    "channels:join",  # a configured shared channel
    "channels:read",
    "files:write",  # long outputs as files (files_upload_v2)
    "pins:write",  # the report pinned in its incident channel
    "pins:read",  # pin_added: a pinned message joins the incident's timeline
    "reactions:read",  # reaction_added (:pushpin:), and reactions.get for the message's text
    "usergroups:read",  # on-call group members; authorization by user group
    "files:read",  # "Decode crash": the text file attached to the message
    # After a replica died mid-post: is its message there? (found by its metadata)
    "channels:history",
)

# Private incident channels (slack.private_channels, the default): create, invite, set topic,
# rename after the signal (conversations.info first: is it named already?).
PRIVATE_SCOPES = ("groups:write", "groups:read", "groups:history")

# Timeline capture: a :pushpin: reaction or a pin on a message in an incident channel; the Home
# tab is drawn when someone opens it (app_home_opened needs no scope).
BOT_EVENTS = ("reaction_added", "pin_added", "app_home_opened")

# The ways in besides the slash command (shortcuts need only the `commands` scope).
SHORTCUTS = (
    {"name": "Diagnose a crash", "type": "global", "callback_id": "segfault_open",
     "description": "Pick a service and a host: segbot opens an incident and diagnoses it"},
    {"name": "Decode crash", "type": "message", "callback_id": "decode_crash",
     "description": "Decode a pasted kernel line, journal or backtrace (only you see it)"},
)


def manifest(options: SlackSection, *, socket_mode: bool) -> dict[str, Any]:
    events_url = None
    if not socket_mode:
        base = (options.public_url or "https://segbot.example.com").rstrip("/")
        events_url = f"{base}/slack/events"
    command: dict[str, Any] = {
        "command": options.command,
        "description": "Crash incidents: diagnose a host, status, resolve, decode",
        "usage_hint": ("HOST SERVICE | status | resolve | commander | postmortem | note TEXT | "
                       "decode TEXT | help"),
        "should_escape": False,
    }
    interactivity: dict[str, Any] = {"is_enabled": True}
    events: dict[str, Any] = {"bot_events": list(BOT_EVENTS)}
    if events_url:
        command["url"] = events_url
        interactivity["request_url"] = events_url
        events["request_url"] = events_url
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": options.app_name,
            "description": "Chat-ops for native crashes: decode, diagnose, contain.",
            "background_color": "#8b1a1a",
        },
        "features": {
            "bot_user": {"display_name": options.app_name, "always_online": True},
            "slash_commands": [command],
            "shortcuts": [dict(shortcut) for shortcut in SHORTCUTS],
            # Home: open incidents; Messages (read-only): answers to the global shortcut.
            "app_home": {"home_tab_enabled": True, "messages_tab_enabled": True,
                         "messages_tab_read_only_enabled": True},
        },
        "oauth_config": {"scopes": {"bot": list(BOT_SCOPES) + (
            list(PRIVATE_SCOPES) if options.private_channels else [])}},
        "settings": {
            "interactivity": interactivity,
            "event_subscriptions": events,
            "org_deploy_enabled": False,
            "socket_mode_enabled": socket_mode,
            "token_rotation_enabled": False,
        },
    }
