"""Private answers to one user: through the request's response_url (works wherever the command
was typed), else chat.postEphemeral in the channel."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Respond

from bot.adapters.slack.blocks import decoded_message
from bot.adapters.slack.web_chat import SlackChat
from bot.app.ports.slash import SlashRequest
from bot.domain.report import DecodedReport
from bot.errors import SlackError

log = logging.getLogger("segbot.slack.reply")


class EphemeralReply:
    def __init__(self, *, respond: Respond | None, chat: SlackChat, channel: str | None,
                 user: str) -> None:
        self._respond, self._chat, self._channel, self._user = respond, chat, channel, user

    def text(self, text: str) -> None:
        self._send(text=text[:3000])

    def decoded(self, report: DecodedReport) -> None:
        blocks, text = decoded_message(report)
        self._send(text=text, blocks=blocks)

    def _send(self, *, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        if self._respond is not None and self._respond.response_url:
            try:
                response = self._respond(text=text, blocks=blocks, response_type="ephemeral",
                                         replace_original=False)
                if response.status_code == 200:
                    return
                log.warning("response_url answered %s; falling back to chat.postEphemeral",
                            response.status_code)
            except Exception as error:  # expired (30 min, 5 uses) or unreachable
                log.warning("response_url failed (%s); falling back to chat.postEphemeral",
                            error)
        if self._channel is None:
            raise SlackError("no way to answer: neither a response_url nor a channel")
        if blocks is None:
            self._chat.tell(channel=self._channel, user=self._user, text=text)
        else:
            self._chat.tell_blocks(channel=self._channel, user=self._user, blocks=blocks,
                                   text=text)


def stored_reply(chat: SlackChat) -> Callable[[SlashRequest], EphemeralReply]:
    """Answers to a stored `/segfault` (a replica taking it over): its response_url while it
    lasts, else chat.postEphemeral in the channel it was typed in."""

    def reply(request: SlashRequest) -> EphemeralReply:
        respond = Respond(response_url=request.response_url) if request.response_url else None
        return EphemeralReply(respond=respond, chat=chat, channel=request.channel,
                              user=request.user)

    return reply
