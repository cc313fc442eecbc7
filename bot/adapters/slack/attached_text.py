"""The text of a message and of the text files attached to it, for "Decode crash". Files are read
with the bot token from Slack's own file host only (never a URL a message could point anywhere)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
from slack_sdk import WebClient

log = logging.getLogger("segbot.slack.files")

MAX_FILE_BYTES = 1 << 20
MAX_FILES = 3
SLACK_FILE_HOSTS = frozenset({"files.slack.com"})


def _is_text(file: Mapping[str, Any]) -> bool:
    mimetype = str(file.get("mimetype") or "")
    return mimetype.startswith("text/") or file.get("filetype") in {"text", "log", "plain"}


def message_text(client: WebClient, message: Mapping[str, Any]) -> str:
    """The message's text, then each attached text file's (small ones, at most three)."""
    parts = [str(message.get("text") or "")]
    allowed = SLACK_FILE_HOSTS | {urlsplit(client.base_url).netloc}
    for file in list(message.get("files") or ())[:MAX_FILES]:
        url = str(file.get("url_private_download") or file.get("url_private") or "")
        if not _is_text(file) or int(file.get("size") or 0) > MAX_FILE_BYTES:
            continue
        if urlsplit(url).scheme not in {"https", "http"} or urlsplit(url).netloc not in allowed:
            log.warning("attached file %s not read: %s is not Slack's file host",
                        file.get("id"), urlsplit(url).netloc)
            continue
        try:
            with httpx.stream("GET", url, headers={"Authorization": f"Bearer {client.token}"},
                              timeout=10, follow_redirects=False) as response:
                response.raise_for_status()
                body = b""
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_FILE_BYTES:
                        break
        except httpx.HTTPError as error:  # the message's own text is still decoded
            log.warning("attached file %s not read: %s", file.get("id"), error)
            continue
        parts.append(body[:MAX_FILE_BYTES].decode("utf-8", errors="replace"))
    return "\n".join(p for p in parts if p)
