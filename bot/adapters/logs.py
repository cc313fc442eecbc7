"""Structured logs for `segbot serve`: one JSON object per line, secrets redacted, and the
incident id as a field wherever a record names an incident (so a log search by incident finds
every line about it)."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from bot.domain.redact import redact

_INCIDENT = re.compile(r"\bincident #?(\d+)\b", re.IGNORECASE)
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = redact(record.getMessage())
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": message,
        }
        extra = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        entry.update({k: v if isinstance(v, int | float | bool) or v is None else redact(str(v))
                      for k, v in extra.items()})
        if "incident_id" not in entry and (found := _INCIDENT.search(message)):
            entry["incident_id"] = int(found[1])
        if record.exc_info:
            entry["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)
