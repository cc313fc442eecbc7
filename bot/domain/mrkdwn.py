"""Text from alerts, hosts and logs made inert in Slack messages: `<!channel>`, `<@U…>` and
`<https://x|label>` are Slack markup only when `<`, `>` and `&` reach Slack unescaped."""

from __future__ import annotations


def escape(text: str) -> str:
    """Slack's three control characters as entities (what Slack documents for message text)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
