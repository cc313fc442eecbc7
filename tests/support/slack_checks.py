"""What Slack refuses in a message or view: each block parsed and validated with
slack_sdk.models, at most 50 blocks, 3000 characters per section, 75 per button label, 2000 per
button value; and the channel names it accepts."""

from __future__ import annotations

import json
import re
from typing import Any

from slack_sdk.models.blocks import Block

CHANNEL_NAME = re.compile(r"[a-z0-9_-]{1,80}")
EVENT_TYPE = re.compile(r"[a-zA-Z0-9_.-]{1,255}")  # message metadata's event_type
LIMITS = {"blocks": 50, "section": 3000, "button_text": 75, "button_value": 2000,
          "header": 150, "text": 40000}


def message_problems(args: dict[str, Any]) -> list[str]:
    """What Slack would refuse in this message (empty: fine)."""
    problems: list[str] = []
    blocks = args.get("blocks")
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    text = args.get("text") or ""
    if len(text) > LIMITS["text"]:
        problems.append(f"text has {len(text)} characters")
    if blocks is None:
        return problems
    if len(blocks) > LIMITS["blocks"]:
        problems.append(f"{len(blocks)} blocks")
    for raw in blocks:
        try:
            parsed = Block.parse(raw)
            if parsed is None:
                problems.append(f"unknown block {raw.get('type')}")
                continue
            parsed.validate_json()
        except Exception as error:
            problems.append(f"{raw.get('type')}: {error}")
        kind = raw.get("type")
        if kind == "section":
            body = (raw.get("text") or {}).get("text", "")
            if len(body) > LIMITS["section"]:
                problems.append(f"section text has {len(body)} characters")
        if kind == "header" and len(raw["text"]["text"]) > LIMITS["header"]:
            problems.append("header too long")
        for element in raw.get("elements") or ():
            if element.get("type") == "button":
                if len(element["text"]["text"]) > LIMITS["button_text"]:
                    problems.append(f"button label {element['text']['text']!r} too long")
                if len(element.get("value", "")) > LIMITS["button_value"]:
                    problems.append("button value too long")
    return problems
