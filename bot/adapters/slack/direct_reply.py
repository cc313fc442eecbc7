"""Answers for requests that come from no channel (a global shortcut's form): the app's direct
message with the user, the one place Slack lets a bot write to a person without a channel."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.adapters.slack.blocks import decoded_message
from bot.adapters.slack.web_chat import translated
from bot.domain.report import DecodedReport


class DirectReply:
    def __init__(self, client: WebClient, user: str) -> None:
        self._client, self._user = client, user

    def text(self, text: str) -> None:
        with translated("chat.postMessage"):
            self._client.chat_postMessage(channel=self._user, text=text[:3000],
                                          unfurl_links=False)

    def decoded(self, report: DecodedReport) -> None:
        blocks, text = decoded_message(report)
        with translated("chat.postMessage"):
            self._client.chat_postMessage(channel=self._user, text=text, blocks=blocks)
