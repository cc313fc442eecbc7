"""Slack messages shown in a terminal: what segbot would post, rendered from the same Block Kit
that goes to Slack (for `segbot demo`, where there is no workspace)."""

from __future__ import annotations

import re
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.rule import Rule
from rich.text import Text

# Slack only reads * and _ as markup at word edges: `pricing_rule_apply` stays as it is.
_MRKDWN = re.compile(r"((?<!\w)\*[^*\n]+\*(?!\w)|`[^`\n]+`|(?<!\w)_[^_\n]+_(?!\w)|```.*?```)",
                     re.DOTALL)


def render_message(blocks: list[dict[str, Any]], console: Console, *, title: str) -> None:
    parts: list[RenderableType] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            parts.append(Text(block["text"]["text"], style="bold"))
        elif kind == "section":
            parts.append(mrkdwn(block.get("text", {}).get("text", "")))
            for field in block.get("fields", []):
                parts.append(mrkdwn(field.get("text", "")))
        elif kind == "context":
            parts.append(Text("  ·  ").join(mrkdwn(e.get("text", ""), style="dim")
                                            for e in block.get("elements", [])))
        elif kind == "input":  # a modal's field: its label, then what it offers
            element = block.get("element", {})
            line = Text(block.get("label", {}).get("text", "?"), style="bold")
            if block.get("optional"):
                line.append(" (optional)", style="dim")
            chosen = (element.get("initial_option") or {}).get("text", {}).get("text")
            options = [o.get("text", {}).get("text", "?") for o in element.get("options", [])]
            hint = element.get("placeholder", {}).get("text", "")
            line.append(f"\n  [ {chosen or hint} ▾ ]" if "options" in element
                        else f"\n  [ {hint} ]", style="reverse")
            if options and not chosen:
                line.append("  " + " · ".join(options[:8]), style="dim")
            parts.append(line)
        elif kind == "divider":
            parts.append(Rule(style="dim"))
        elif kind == "actions":
            buttons = Text()
            for element in block.get("elements", []):
                label = element.get("text", {}).get("text", "?")
                style = {"danger": "bold white on red", "primary": "bold white on green"}.get(
                    element.get("style", ""), "bold reverse")
                buttons.append(f" {label} ", style=style)
                buttons.append("  ")
            parts.append(buttons)
    console.print(Panel(Group(*parts), title=title, title_align="left", border_style="magenta"))


def mrkdwn(text: str, style: str = "") -> Text:
    """Slack's mrkdwn (*bold*, _italic_, `code`, ```blocks```, &lt; escapes) as rich Text."""
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    out = Text(style=style)
    for piece in _MRKDWN.split(text):
        if piece.startswith("```") and piece.endswith("```") and len(piece) >= 6:
            out.append(piece[3:-3].strip("\n"), style="cyan")
        elif len(piece) > 1 and piece[0] == piece[-1] == "*":
            out.append(piece[1:-1], style="bold")
        elif len(piece) > 1 and piece[0] == piece[-1] == "`":
            out.append(piece[1:-1], style="cyan")
        elif len(piece) > 1 and piece[0] == piece[-1] == "_":
            out.append(piece[1:-1], style="italic")
        else:
            out.append(piece)
    return out
