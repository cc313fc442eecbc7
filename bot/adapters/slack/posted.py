"""Posting once across replicas: every post segbot may have to repeat after a crash carries
Slack message metadata naming its claim, and a replica that takes the claim over looks for it
in the channel's history (or the thread's replies) before posting again."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from bot.adapters.slack.web_chat import translated

REPORT, SUMMARY, REMINDER = "segbot_report", "segbot_summary", "segbot_reminder"
MAX_PAGES = 20  # 200 messages a page: the claim's message is among the channel's newest


def claim_metadata(event_type: str, claim: str) -> dict[str, Any]:
    """chat.postMessage's `metadata` for a post made under `claim`."""
    return {"event_type": event_type, "event_payload": {"claim": claim}}


def find_posted(client: WebClient, *, channel: str, event_type: str, claim: str,
                thread_ts: str | None = None) -> str | None:
    """The ts of segbot's message carrying `claim`, newest history (or the thread) searched
    first; None when there is none."""
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        with translated("conversations.history"):
            if thread_ts is None:
                page = client.conversations_history(channel=channel, include_all_metadata=True,
                                                    limit=200, cursor=cursor)
            else:
                page = client.conversations_replies(channel=channel, ts=thread_ts, limit=200,
                                                    include_all_metadata=True, cursor=cursor)
        for message in page.get("messages") or ():
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == event_type and payload.get("claim") == claim:
                return str(message["ts"])
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if cursor is None:
            return None
    return None


def find_channel(client: WebClient, *, name: str, private: bool) -> dict[str, Any] | None:
    """A channel segbot can see by its exact name, with its topic."""
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        with translated("conversations.list"):
            page = client.conversations_list(
                types="private_channel" if private else "public_channel",
                exclude_archived=True, limit=200, cursor=cursor)
        for channel in page.get("channels") or ():
            if channel.get("name") == name:
                return dict(channel)
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if cursor is None:
            return None
    return None
