"""Text from alerts, hosts and logs made inert in Slack messages: `<!channel>`, `<@U…>` and
`<https://x|label>` are Slack markup only when their `<` reaches Slack unescaped."""

from __future__ import annotations


def escape(text: str) -> str:
    """`&` and `<` as entities: no markup can start. A lone `>` (as in `200ms -> 30s`) is
    shown as it is, so it is kept for the timeline and the postmortem."""
    return text.replace("&", "&amp;").replace("<", "&lt;")
