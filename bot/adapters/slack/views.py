"""Block Kit for the surfaces beside messages: the diagnose form (a modal), the App Home tab and
the "Decode crash" answer, built through slack_sdk.models like bot.adapters.slack.blocks."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.adapters.slack.blocks import checked, decoded_message, esc, fit
from bot.app.slack_entry import HomeView, Pasted
from bot.errors import SlackError

DIAGNOSE_FORM = "segfault_diagnose"  # the modal's callback id
SERVICE, HOST, NOTE = "service", "host", "note"  # block and action ids of its inputs
OPEN_INCIDENT = "open_incident"  # the button under a decoded paste
MAX_OPTIONS = 100  # Slack's limit for a static select


def _options(names: Sequence[str]) -> list[Option]:
    return [Option(value=name[:150], label=name[:75]) for name in names[:MAX_OPTIONS]]


def diagnose_form(services: Mapping[str, Sequence[str]], *, service: str | None,
                  channel: str | None) -> dict[str, Any]:
    """The modal: a service, then one of that service's hosts, and an optional note."""
    names = sorted(services)
    if service is None and len(names) == 1:
        service = names[0]
    chosen = [o for o in _options(names) if o.value == service]
    blocks: list[Block] = [InputBlock(
        block_id=SERVICE, label="Service", dispatch_action=True,
        element=StaticSelectElement(action_id=SERVICE, placeholder="Which service crashes?",
                                    options=_options(names),
                                    initial_option=chosen[0] if chosen else None))]
    if service is not None and service in services:
        blocks.append(InputBlock(
            block_id=f"{HOST}:{service}"[:255], label="Host",  # a new block per service
            element=StaticSelectElement(action_id=HOST, placeholder="Where did it crash?",
                                        options=_options(sorted(services[service])))))
    else:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text="Pick the service first: its hosts follow.")]))
    blocks.append(InputBlock(
        block_id=NOTE, label="Note for the timeline", optional=True,
        element=PlainTextInputElement(action_id=NOTE, multiline=True, max_length=2000,
                                      placeholder="What you saw, who is on it (optional)")))
    view = View(type="modal", callback_id=DIAGNOSE_FORM, title="Diagnose a crash",
                submit="Diagnose", close="Cancel", blocks=blocks,
                private_metadata=json.dumps({"channel": channel}))
    return _view(view)


@dataclass(frozen=True)
class FormValues:
    service: str = ""
    host: str = ""
    note: str = ""


def form_values(state: Mapping[str, Any]) -> FormValues:
    """What the diagnose modal holds, from its submitted (or updated) state values."""
    service = host = note = ""
    for block_id, actions in (state.get("values") or {}).items():
        for action_id, value in actions.items():
            picked = (value.get("selected_option") or {}).get("value") or ""
            if action_id == SERVICE:
                service = picked
            elif action_id == HOST and str(block_id).startswith(HOST):
                host = picked
            elif action_id == NOTE:
                note = value.get("value") or ""
    return FormValues(service=service, host=host, note=note)


def home_tab(view: HomeView) -> dict[str, Any]:
    blocks: list[Block] = [HeaderBlock(text="segbot: crash incidents")]
    if not view.allowed:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=(
            "Incidents show here for the people who may open them; yours are in their "
            "incident channels (`/segfault status` there)."))))
        return _view(View(type="home", blocks=blocks))
    lines = [_incident_line(incident, channel, view.now) for incident, channel in view.open]
    blocks.append(SectionBlock(text=MarkdownTextObject(text=fit(
        f"*Open incidents* ({len(view.open)})\n" + ("\n".join(lines) or "• none"), 3000,
        "`segbot incidents`"))))
    blocks.append(DividerBlock())
    top = "\n".join(f"• `{esc(sig)}` ×{count}" for sig, count in view.top) or "• none"
    blocks.append(SectionBlock(text=MarkdownTextObject(text=fit(
        f"*Top signatures, last 7 days*\n{top}", 3000, "`segbot incidents`"))))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(
        text=f"as of {view.now:%Y-%m-%d %H:%M} UTC · `/segfault` opens a new one")]))
    return _view(View(type="home", blocks=blocks))


def _incident_line(incident: Any, channel: str | None, now: datetime) -> str:
    where = f"<#{channel}>" if channel else "no channel yet"
    hosts = esc(", ".join(incident.hosts[:5]) or "no host yet")
    return (f"• *#{incident.id}* {esc(incident.service)} · {incident.status} · "
            f"`{esc(incident.signature or 'signature not known yet')}` · {hosts} · "
            f"{_age(now - incident.opened_at)} old · {where}")


def _age(delta: Any) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // 1440} d"


def pasted_answer(pasted: Pasted) -> tuple[list[dict[str, Any]], str]:
    """The decoded paste, with a button to open an incident when service and host are known."""
    blocks, text = decoded_message(pasted.report)
    if pasted.service and pasted.host:
        button = ButtonElement(
            text=f"Open an incident: {pasted.service} on {pasted.host}"[:75],
            action_id=OPEN_INCIDENT, style="primary",
            value=json.dumps({"service": pasted.service, "host": pasted.host})[:2000])
        blocks = blocks + checked([ActionsBlock(elements=[button])])
    return blocks, text


def _view(view: View) -> dict[str, Any]:
    try:
        data: dict[str, Any] = view.to_dict()
    except Exception as error:  # SlackObjectFormationError: a limit we failed to respect
        raise SlackError(f"view would break a Slack limit: {error}") from error
    return data
