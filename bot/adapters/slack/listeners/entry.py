"""The diagnose form (from `/segfault` alone or the global shortcut), "Decode crash" on a message,
its "Open an incident" button, and the App Home tab: ack, hand off to bot.app.slack_entry."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.adapters.slack.attached_text import message_text
from bot.adapters.slack.direct_reply import DirectReply
from bot.adapters.slack.reply import EphemeralReply
from bot.adapters.slack.views import (
    DIAGNOSE_FORM,
    HOST,
    OPEN_INCIDENT,
    SERVICE,
    diagnose_form,
    form_values,
    home_tab,
    pasted_answer,
)
from bot.adapters.slack.web_chat import SlackChat, translated
from bot.app.slack_entry import SlackEntry
from bot.errors import SlackError

OPEN_FORM = "segfault_open"  # the global shortcut's callback id
DECODE_CRASH = "decode_crash"  # the message shortcut's callback id


def open_form(client: WebClient, entry: SlackEntry, *, trigger_id: str, channel: str | None,
              response_url: str | None) -> None:
    view = diagnose_form(entry.services, service=None, channel=channel)
    view["private_metadata"] = json.dumps({"channel": channel, "response_url": response_url})
    with translated("views.open"):
        client.views_open(trigger_id=trigger_id, view=view)


def register(app: App, entry: SlackEntry, chat: SlackChat) -> None:
    @app.shortcut(OPEN_FORM)
    def shortcut(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        open_form(client, entry, trigger_id=str(body["trigger_id"]), channel=None,
                  response_url=None)

    @app.action(SERVICE)
    def service_picked(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()  # the host list follows the service: the form is redrawn with its hosts
        view = body.get("view") or {}
        service, _host, _note = form_values(view.get("state") or {})
        redrawn = diagnose_form(entry.services, service=service or None, channel=None)
        redrawn["private_metadata"] = view.get("private_metadata") or ""
        with translated("views.update"):
            client.views_update(view_id=view["id"], hash=view.get("hash"), view=redrawn)

    @app.view(DIAGNOSE_FORM)
    def submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any],
                  client: WebClient) -> None:
        service, host, note = form_values(view.get("state") or {})
        if host not in entry.services.get(service, ()):
            ack(response_action="errors", errors={
                f"{HOST}:{service}"[:255] if service else SERVICE:
                    "Pick a host of that service."})
            return
        ack()
        user = str(body["user"]["id"])
        meta = json.loads(view.get("private_metadata") or "{}")
        channel, url = meta.get("channel"), meta.get("response_url")
        reply = (EphemeralReply(respond=Respond(response_url=url) if url else None, chat=chat,
                                channel=channel, user=user)
                 if channel else DirectReply(client, user))
        entry.diagnose_from_form(service=service, host=host, note=note, user=user,
                           channel=channel, reply=reply)

    @app.shortcut(DECODE_CRASH)
    def decode_crash(ack: Ack, body: dict[str, Any], client: WebClient,
                     respond: Respond) -> None:
        ack()
        message = body.get("message") or {}
        channel, user = str(body["channel"]["id"]), str(body["user"]["id"])
        blocks, text = pasted_answer(entry.decode_pasted(message_text(client, message)))
        try:
            with translated("chat.postEphemeral"):
                client.chat_postEphemeral(
                    channel=channel, user=user, blocks=blocks, text=text,
                    thread_ts=message.get("thread_ts") or message.get("ts"))
        except SlackError:  # a channel segbot is not in: the shortcut's own response_url
            if not respond.response_url:
                raise
            respond(text=text, blocks=blocks, response_type="ephemeral",
                    replace_original=False)

    @app.action(OPEN_INCIDENT)
    def open_incident(ack: Ack, body: dict[str, Any], action: dict[str, Any],
                      respond: Respond) -> None:
        ack()
        asked = json.loads(str(action.get("value") or "{}"))
        user = str(body["user"]["id"])
        channel = (body.get("channel") or {}).get("id") or (
            body.get("container") or {}).get("channel_id")
        entry.diagnose_from_form(service=str(asked.get("service") or ""),
                           host=str(asked.get("host") or ""), note="", user=user,
                           channel=channel, reply=EphemeralReply(
                               respond=respond, chat=chat, channel=channel, user=user))

    @app.event("app_home_opened")
    def home(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab") not in (None, "home"):
            return
        user = str(event["user"])
        with translated("views.publish"):
            client.views_publish(user_id=user, view=home_tab(entry.home_view(user=user)))
