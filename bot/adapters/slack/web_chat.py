"""The Chat port on Slack's Web API. slack_sdk's errors become SlackError in one place."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.adapters.slack.blocks import report_message
from bot.adapters.slack.channel_names import channel_name
from bot.app.ports.slack import ChannelRequest, Place
from bot.app.report_view import ReportView
from bot.errors import SlackError

log = logging.getLogger("segbot.slack.chat")
MAX_NAME_ATTEMPTS = 5


@contextmanager
def translated(what: str) -> Iterator[None]:
    """The one place where slack_sdk's and the network's errors become SlackError."""
    try:
        yield
    except SlackApiError as error:
        code = error.response.get("error") if error.response is not None else None
        raise SlackError(f"Slack {what}: {code or error}") from None
    except (SlackClientError, OSError) as error:
        raise SlackError(f"Slack {what}: {type(error).__name__}: {error}") from None


def pin_quietly(client: WebClient, place: Place, ts: str, what: str) -> None:
    """Pin a message segbot posted; a pin that fails costs only the pin, so it is logged."""
    try:
        client.pins_add(channel=place.channel, timestamp=ts)
    except (SlackApiError, SlackClientError, OSError) as error:
        log.warning("%s of incident %s not pinned: %s", what, place.incident_id, error)


def post_text(client: WebClient, place: Place, text: str, *,
              metadata: dict[str, object] | None = None) -> str:
    """A plain message in the incident's channel (in its report's thread when shared)."""
    thread = None if place.dedicated else place.report_ts
    with translated("chat.postMessage"):
        response = client.chat_postMessage(channel=place.channel, text=text[:3000],
                                           thread_ts=thread, unfurl_links=False,
                                           metadata=metadata)
    return str(response["ts"])


@dataclass(frozen=True)
class ChatSettings:
    channel_prefix: str = "inc"
    oncall_usergroup: str | None = None
    shared_channel: str | None = None  # set: one thread per incident in this channel
    private_channels: bool = True  # incident channels are private (groups:write)


class SlackChat:
    def __init__(self, client: WebClient, settings: ChatSettings) -> None:
        self.client, self.settings = client, settings

    def open_place(self, request: ChannelRequest,
                   intend: Callable[[str], None] | None = None) -> Place:
        """`intend(name)` is told each name before it is tried (so a replica taking over can
        adopt the channel a crashed one created under `request.adopt`)."""
        if self.settings.shared_channel:
            with translated("conversations.join"):
                self.client.conversations_join(channel=self.settings.shared_channel)
            return Place(request.incident_id, self.settings.shared_channel, dedicated=False)
        channel = self._create(request, intend)
        place = Place(request.incident_id, channel, dedicated=True)
        invite = list(request.invite)
        if self.settings.oncall_usergroup:
            try:
                invite += sorted(self.group_members(self.settings.oncall_usergroup))
            except SlackError as error:  # the channel still opens; say why nobody came
                log.warning("on-call group %s not invited: %s", self.settings.oncall_usergroup,
                            error)
        self.invite(place, invite)
        with translated("conversations.setTopic"):
            self.client.conversations_setTopic(channel=channel, topic=request.topic)
        return place

    def _create(self, request: ChannelRequest, intend: Callable[[str], None] | None) -> str:
        # The crashed holder's name first: the signal may have become known since, which
        # changes the name this holder would try.
        if request.adopt and (found := self._ours(request.adopt, request)):
            return found
        for attempt in range(MAX_NAME_ATTEMPTS):
            name = channel_name(prefix=self.settings.channel_prefix,
                                opened_at=request.opened_at, service=request.service,
                                signal=request.signal, attempt=attempt,
                                incident_id=request.incident_id)
            if intend is not None:
                intend(name)
            try:
                response = self.client.conversations_create(
                    name=name, is_private=self.settings.private_channels)
            except SlackApiError as error:
                if error.response.get("error") == "name_taken":
                    if name == request.adopt and (found := self._ours(name, request)):
                        return found
                    continue
                with translated("conversations.create"):
                    raise
            return str(response["channel"]["id"])
        raise SlackError(f"Slack conversations.create: no free name after "
                         f"{MAX_NAME_ATTEMPTS} attempts")

    def _ours(self, name: str, request: ChannelRequest) -> str | None:
        """The channel a crashed replica created for this incident under `name`: its topic
        names the incident, or is still empty (the crash came before the topic was set)."""
        from bot.adapters.slack.posted import find_channel

        found = find_channel(self.client, name=name, private=self.settings.private_channels)
        topic = str(((found or {}).get("topic") or {}).get("value") or "")
        if found is None or (topic and not topic.startswith(f"Incident #{request.incident_id}:")):
            return None
        log.info("incident %s: adopting #%s, created before a takeover", request.incident_id,
                 name)
        return str(found["id"])

    def rename(self, place: Place, request: ChannelRequest) -> str | None:
        names = [channel_name(prefix=self.settings.channel_prefix, opened_at=request.opened_at,
                              service=request.service, signal=request.signal, attempt=attempt,
                              incident_id=request.incident_id)
                 for attempt in range(MAX_NAME_ATTEMPTS)]
        with translated("conversations.info"):
            current = self.client.conversations_info(channel=place.channel)
        if (current.get("channel") or {}).get("name") in names:
            return None
        for name in names:
            try:
                self.client.conversations_rename(channel=place.channel, name=name)
            except SlackApiError as error:
                if error.response.get("error") == "name_taken":
                    continue
                with translated("conversations.rename"):
                    raise
            return name
        raise SlackError(f"Slack conversations.rename: no free name after "
                         f"{MAX_NAME_ATTEMPTS} attempts")

    def invite(self, place: Place, users: Sequence[str]) -> None:
        wanted = sorted(set(users))
        if not wanted or not place.dedicated:
            return
        try:
            self.client.conversations_invite(channel=place.channel, users=",".join(wanted))
        except SlackApiError as error:
            if error.response.get("error") not in {"already_in_channel", "cant_invite_self"}:
                with translated("conversations.invite"):
                    raise

    def post_report(self, place: Place, view: ReportView, *, claim: str | None = None) -> str:
        from bot.adapters.slack.posted import REPORT, claim_metadata

        blocks, text = report_message(view)
        metadata = claim_metadata(REPORT, claim) if claim else None
        with translated("chat.postMessage"):
            response = self.client.chat_postMessage(channel=place.channel, blocks=blocks,
                                                    text=text, unfurl_links=False,
                                                    metadata=metadata)
        ts = str(response["ts"])
        if place.dedicated:  # the incident's channel opens on its report
            pin_quietly(self.client, place, ts, "report")
        return ts

    def find_report(self, place: Place, claim: str) -> str | None:
        """The report a replica posted under `claim` before it died, if Slack has it."""
        from bot.adapters.slack.posted import REPORT, find_posted

        return find_posted(self.client, channel=place.channel, event_type=REPORT, claim=claim,
                           thread_ts=None)

    def update_report(self, place: Place, view: ReportView) -> None:
        assert place.report_ts is not None
        blocks, text = report_message(view)
        with translated("chat.update"):
            self.client.chat_update(channel=place.channel, ts=place.report_ts, blocks=blocks,
                                    text=text)

    def upload(self, place: Place, *, filename: str, title: str, content: str) -> None:
        with translated("files.upload"):
            self.client.files_upload_v2(channel=place.channel, thread_ts=place.report_ts,
                                        filename=filename, title=title, content=content)

    def say(self, place: Place, text: str) -> str:
        return post_text(self.client, place, text)

    def tell(self, *, channel: str, user: str, text: str) -> None:
        with translated("chat.postEphemeral"):
            self.client.chat_postEphemeral(channel=channel, user=user, text=text[:3000])

    def tell_blocks(self, *, channel: str, user: str, blocks: list[dict[str, Any]],
                    text: str) -> None:
        with translated("chat.postEphemeral"):
            self.client.chat_postEphemeral(channel=channel, user=user, blocks=blocks, text=text)

    def group_members(self, group_id: str) -> frozenset[str]:
        with translated("usergroups.users.list"):
            response = self.client.usergroups_users_list(usergroup=group_id)
        return frozenset(str(u) for u in response.get("users") or ())
