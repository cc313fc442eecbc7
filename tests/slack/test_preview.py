"""The terminal preview of Slack mrkdwn reads markup where Slack does, at word edges only."""

from __future__ import annotations

from bot.adapters.slack_preview import mrkdwn


def test_underscores_inside_a_name_are_not_italics() -> None:
    text = mrkdwn("one crash with a known site (pricing_rule_apply); *bold* and _italic_")
    assert text.plain == "one crash with a known site (pricing_rule_apply); bold and italic"
    assert [str(span.style) for span in text.spans] == ["bold", "italic"]
