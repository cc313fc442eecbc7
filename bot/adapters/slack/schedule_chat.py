"""The Announcer port on Slack's Web API: scheduled summaries (one pinned message edited in
place, or thread replies), reminders, digests, the postmortem file, and reading a message
captured into a timeline."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.adapters.slack.blocks import digest_message, summary_message
from bot.adapters.slack.posted import REMINDER, SUMMARY, claim_metadata, find_posted
from bot.adapters.slack.web_chat import pin_quietly, post_text, translated
from bot.app.digest import DigestView
from bot.app.ports.schedule import ChatMessage, SummaryMode
from bot.app.ports.slack import Place
from bot.app.summaries import SummaryView

log = logging.getLogger("segbot.slack.schedule")


class SlackAnnouncer:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    def post_summary(self, place: Place, view: SummaryView, *, mode: SummaryMode,
                     edit_ts: str | None, claim: str | None = None) -> str:
        blocks, text = summary_message(view)
        metadata = claim_metadata(SUMMARY, claim) if claim else None
        if edit_ts is not None:
            try:
                with translated("chat.update"):
                    self.client.chat_update(channel=place.channel, ts=edit_ts, blocks=blocks,
                                            text=text)
                return edit_ts
            except Exception as error:  # deleted by someone: post a new one below
                log.warning("summary of incident %s not edited (%s); posting anew",
                            place.incident_id, error)
        thread = place.report_ts if (mode == "thread" or not place.dedicated) else None
        with translated("chat.postMessage"):
            response = self.client.chat_postMessage(channel=place.channel, blocks=blocks,
                                                    text=text, thread_ts=thread,
                                                    unfurl_links=False, metadata=metadata)
        ts = str(response["ts"])
        if mode == "edit" and place.dedicated:
            pin_quietly(self.client, place, ts, "summary")
        return ts

    def post_text(self, place: Place, text: str, *, claim: str | None = None) -> str:
        metadata = claim_metadata(REMINDER, claim) if claim else None
        return post_text(self.client, place, text, metadata=metadata)

    def find_posted(self, place: Place, claim: str, *, mode: SummaryMode) -> str | None:
        """Summaries in a thread are searched among its replies, the rest in the channel;
        either event type matches (the claim's key says which it was)."""
        thread = place.report_ts if (mode == "thread" or not place.dedicated) else None
        for event_type in (SUMMARY, REMINDER):
            found = find_posted(self.client, channel=place.channel, event_type=event_type,
                                claim=claim, thread_ts=thread)
            if found is not None:
                return found
        if thread is not None:  # a reminder in a dedicated channel is not in the thread
            for event_type in (SUMMARY, REMINDER):
                found = find_posted(self.client, channel=place.channel, event_type=event_type,
                                    claim=claim, thread_ts=None)
                if found is not None:
                    return found
        return None

    def post_digest(self, channel: str, view: DigestView) -> str:
        blocks, text = digest_message(view)
        with translated("chat.postMessage"):
            response = self.client.chat_postMessage(channel=channel, blocks=blocks, text=text,
                                                    unfurl_links=False)
        return str(response["ts"])

    def upload(self, place: Place, *, filename: str, title: str, content: str) -> None:
        thread = None if place.dedicated else place.report_ts
        with translated("files.upload"):
            self.client.files_upload_v2(channel=place.channel, thread_ts=thread,
                                        filename=filename, title=title, content=content)

    def message(self, channel: str, ts: str) -> ChatMessage | None:
        # reactions.get answers with the reacted-to message itself, under the reactions:read
        # scope the 📌 event needs anyway (no channel history scope).
        try:
            response = self.client.reactions_get(channel=channel, timestamp=ts)
        except (SlackApiError, SlackClientError, OSError) as error:
            log.warning("message %s in %s not read: %s", ts, channel, error)
            return None
        message = response.get("message") or {}
        return ChatMessage(text=str(message.get("text") or "") or None,
                           thread_ts=str(message.get("thread_ts") or "") or None)
