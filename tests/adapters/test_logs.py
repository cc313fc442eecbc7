"""serve's logs: JSON lines, secrets redacted, incident ids as a field."""

from __future__ import annotations

import json
import logging

from bot.adapters.logs import JsonFormatter


def _format(message: str, *args: object, **extra: object) -> dict[str, object]:
    record = logging.LogRecord("segbot.test", logging.WARNING, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return json.loads(JsonFormatter().format(record))


def test_incident_id_is_a_field() -> None:
    entry = _format("report of incident %s not published (%s)", 42, "ratelimited")
    assert entry["incident_id"] == 42 and entry["level"] == "warning"
    assert _format("x", incident_id=7)["incident_id"] == 7


def test_secrets_never_reach_the_log() -> None:
    entry = _format("posting with token %s to %s", "xoxb-1234567890-abcdefghijkl",
                    "https://deploy:hunter2@ci.example.org/hook", error_id="E1")
    text = json.dumps(entry)
    assert "xoxb-1234567890" not in text and "hunter2" not in text
    assert entry["error_id"] == "E1"
