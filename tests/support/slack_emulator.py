"""A local Slack Web API for the tests: a real HTTP server on a free loopback port that the
app's WebClient reaches through SEGBOT_SLACK_API_URL.

It answers the methods segbot uses, records every call, fails on request (slack_wire.py), and
refuses what Slack would (slack_checks.py), remembering it in `violations`.
Messages keep their `metadata` as Slack does; conversations.history and .replies return it
only with `include_all_metadata`.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any

from slack_sdk.models.views import View

from tests.support.slack_checks import CHANNEL_NAME, EVENT_TYPE, message_problems
from tests.support.slack_wire import Call, Fault, handler_for

PAGE = 100  # conversations.* page size when no limit is given


@dataclass
class Held:
    """Calls of one method waiting: `reached` once one arrived, they go on once released."""

    reached: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        self.released.set()


@dataclass
class Channel:
    id: str
    name: str
    topic: str = ""
    members: set[str] = field(default_factory=set)
    private: bool = False


class SlackEmulator:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.violations: list[tuple[str, list[str]]] = []
        self.channels: dict[str, Channel] = {}
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.ephemeral: list[dict[str, Any]] = []
        self.files: dict[str, dict[str, Any]] = {}
        self.pins: set[tuple[str, str]] = set()
        self.usergroups: dict[str, list[str]] = {}
        self.faults: dict[str, list[Fault]] = {}
        self.views: dict[str, dict[str, Any]] = {}  # open modals by view id
        self.home: dict[str, dict[str, Any]] = {}  # each user's App Home tab
        self.dms: list[dict[str, Any]] = []  # chat.postMessage to a user id (the app's DM)
        self.served_files: dict[str, bytes] = {}  # GET /files/NAME (url_private_download)
        self.outside: set[str] = set()  # channels segbot is not a member of
        self.socket_url: str | None = None  # Socket Mode: where apps.connections.open points
        self.holds: dict[str, Held] = {}  # method -> calls wait there until released
        self.lock = threading.Lock()
        self._ids = itertools.count(1)
        self._ts = itertools.count(1)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(self))
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}/api/"
        self.base = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- control -------------------------------------------------------------------------

    def start(self) -> SlackEmulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail(self, method: str, *, status: int, times: int = 1,
             retry_after: int | None = None) -> None:
        with self.lock:
            self.faults.setdefault(method, []).append(Fault(status, times, retry_after))

    def hold(self, method: str) -> Held:
        """Calls of `method` wait from now until released (a test kills the caller there)."""
        held = Held()
        with self.lock:
            self.holds[method] = held
        return held

    def called(self, method: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method == method and c.status == 200]

    def wait_for(self, predicate: Any, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.02)
        raise AssertionError("the emulator never saw what the test waited for")

    # -- the Web API -----------------------------------------------------------------------

    def answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        result: dict[str, Any] = handler(args)
        return result

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": "https://emulated.slack.com/", "team": "Emulated",
                "user": "segbot", "team_id": "T0EMU", "user_id": "U0BOT", "bot_id": "B0BOT"}

    def _conversations_create(self, args: dict[str, Any]) -> dict[str, Any]:
        name = str(args.get("name", ""))
        if not CHANNEL_NAME.fullmatch(name):
            return {"ok": False, "error": "invalid_name_specials"}
        if any(c.name == name for c in self.channels.values()):
            return {"ok": False, "error": "name_taken"}
        channel = Channel(id=f"C{next(self._ids):08d}", name=name, members={"U0BOT"},
                          private=str(args.get("is_private", "")).lower() in {"1", "true"})
        self.channels[channel.id] = channel
        return {"ok": True, "channel": {"id": channel.id, "name": name}}

    def _channel(self, args: dict[str, Any]) -> Channel | None:
        return self.channels.get(str(args.get("channel") or args.get("channel_id") or ""))

    def _conversations_rename(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        name = str(args.get("name", ""))
        if not CHANNEL_NAME.fullmatch(name):
            return {"ok": False, "error": "invalid_name_specials"}
        if any(c.name == name and c.id != channel.id for c in self.channels.values()):
            return {"ok": False, "error": "name_taken"}
        channel.name = name
        return {"ok": True, "channel": {"id": channel.id, "name": name}}

    def _conversations_invite(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        channel.members.update(u for u in str(args.get("users", "")).split(",") if u)
        return {"ok": True, "channel": {"id": channel.id}}

    def _conversations_setTopic(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if len(str(args.get("topic", ""))) > 250:
            return {"ok": False, "error": "too_long"}
        channel.topic = str(args.get("topic", ""))
        return {"ok": True}

    def _conversations_join(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        channel.members.add("U0BOT")
        return {"ok": True, "channel": {"id": channel.id}}

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "channel": {"id": channel.id, "name": channel.name,
                                        "topic": {"value": channel.topic}}}

    def _checked(self, method: str, args: dict[str, Any]) -> dict[str, Any] | None:
        problems = message_problems(args)
        if problems:
            self.violations.append((method, problems))
            return {"ok": False, "error": "invalid_blocks", "errors": problems}
        return None

    def _metadata(self, args: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
        """A message's metadata as Slack reads it (a JSON object or its text); an error code
        for a malformed one."""
        raw = args.get("metadata")
        if raw is None:
            return None, None
        try:
            value = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            return None, "invalid_metadata_format"
        if (not isinstance(value, dict) or not isinstance(value.get("event_type"), str)
                or not isinstance(value.get("event_payload"), dict)):
            return None, "invalid_metadata_format"
        if not EVENT_TYPE.fullmatch(value["event_type"]):
            return None, "invalid_metadata_schema"
        return {"event_type": value["event_type"], "event_payload": value["event_payload"]}, None

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        if (refused := self._checked("chat.postMessage", args)) is not None:
            return refused
        metadata, error = self._metadata(args)
        if error is not None:
            return {"ok": False, "error": error}
        if metadata is not None:
            args = {**args, "metadata": metadata}
        channel = self._channel(args)
        if channel is None and str(args.get("channel", "")).startswith("U"):
            self.dms.append(args)  # a user id: the app's direct message with that user
            return {"ok": True, "channel": "D" + str(args["channel"]), "ts": "1700000002.0"}
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        ts = f"1700000000.{next(self._ts):06d}"
        self.messages[(channel.id, ts)] = {**args, "ts": ts, "edits": 0}
        return {"ok": True, "channel": channel.id, "ts": ts, "message": {"ts": ts}}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        if (refused := self._checked("chat.update", args)) is not None:
            return refused
        key = (str(args.get("channel")), str(args.get("ts")))
        if key not in self.messages:
            return {"ok": False, "error": "message_not_found"}
        metadata, error = self._metadata(args)
        if error is not None:
            return {"ok": False, "error": error}
        if metadata is not None:
            args = {**args, "metadata": metadata}
        edits = self.messages[key]["edits"] + 1
        self.messages[key] = {**self.messages[key], **args, "edits": edits}
        return {"ok": True, "channel": key[0], "ts": key[1]}

    def _shown(self, message: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
        shown = {"type": "message", "ts": message["ts"], "text": message.get("text", ""),
                 "user": "U0BOT", "bot_id": "B0BOT"}
        if message.get("thread_ts"):
            shown["thread_ts"] = message["thread_ts"]
        if message.get("metadata") and str(args.get("include_all_metadata", "")).lower() in {
                "1", "true"}:
            shown["metadata"] = message["metadata"]
        return shown

    def _page(self, items: list[dict[str, Any]], args: dict[str, Any],
              key: str) -> dict[str, Any]:
        start = int(str(args.get("cursor") or "0") or 0)
        limit = int(str(args.get("limit") or PAGE))
        page = items[start:start + limit]
        more = start + limit < len(items)
        return {"ok": True, key: page, "has_more": more,
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        top = [m for (c, _), m in self.messages.items()
               if c == channel.id and m.get("thread_ts") in (None, "", m["ts"])]
        top.sort(key=lambda m: float(m["ts"]), reverse=True)  # newest first, as Slack's
        return self._page([self._shown(m, args) for m in top], args, "messages")

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        root = str(args.get("ts", ""))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if (channel.id, root) not in self.messages:
            return {"ok": False, "error": "thread_not_found"}
        thread = [m for (c, ts), m in self.messages.items()
                  if c == channel.id and (ts == root or m.get("thread_ts") == root)]
        thread.sort(key=lambda m: float(m["ts"]))  # the parent first, then oldest first
        return self._page([self._shown(m, args) for m in thread], args, "messages")

    def _conversations_list(self, args: dict[str, Any]) -> dict[str, Any]:
        types = set(str(args.get("types") or "public_channel").split(","))
        listed = [{"id": c.id, "name": c.name, "is_private": c.private,
                   "topic": {"value": c.topic}, "is_member": "U0BOT" in c.members}
                  for c in self.channels.values()
                  if ("private_channel" if c.private else "public_channel") in types
                  and (not c.private or "U0BOT" in c.members)]
        return self._page(listed, args, "channels")

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        if (refused := self._checked("chat.postEphemeral", args)) is not None:
            return refused
        if args.get("channel") in self.outside:
            return {"ok": False, "error": "not_in_channel"}
        self.ephemeral.append(args)
        return {"ok": True, "message_ts": f"1700000001.{next(self._ts):06d}"}

    def _pins_add(self, args: dict[str, Any]) -> dict[str, Any]:
        key = (str(args.get("channel")), str(args.get("timestamp")))
        if key not in self.messages:
            return {"ok": False, "error": "message_not_found"}
        self.pins.add(key)
        return {"ok": True}

    def _files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        file_id = f"F{next(self._ids):08d}"
        self.files[file_id] = {"filename": args.get("filename"), "length": int(args["length"]),
                               "content": None, "completed": False}
        return {"ok": True, "file_id": file_id,
                "upload_url": f"http://127.0.0.1:{self.port}/upload/{file_id}"}

    def _files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        done = []
        for item in json.loads(str(args.get("files", "[]"))):
            entry = self.files.get(item["id"])
            if entry is None or entry["content"] is None:
                return {"ok": False, "error": "file_not_found"}
            entry.update(completed=True, title=item.get("title"), channel=args.get("channel_id"),
                         thread_ts=args.get("thread_ts"))
            done.append({"id": item["id"], "title": item.get("title")})
        return {"ok": True, "files": done}

    def _usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group = str(args.get("usergroup", ""))
        if group not in self.usergroups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(self.usergroups[group])}

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.socket_url is None:
            return {"ok": False, "error": "socket_mode_not_enabled"}
        return {"ok": True, "url": self.socket_url}

    def _view_problems(self, method: str, raw: Any) -> dict[str, Any] | None:
        view = json.loads(raw) if isinstance(raw, str) else raw
        try:
            View(**view).validate_json()
            problems = message_problems({"blocks": view.get("blocks") or []})
        except Exception as error:
            problems = [str(error)]
        if problems:
            self.violations.append((method, problems))
            return {"ok": False, "error": "invalid_arguments", "errors": problems}
        return None

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if (refused := self._view_problems("views.open", args.get("view"))) is not None:
            return refused
        if not args.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        view_id = f"V{next(self._ids):08d}"
        raw = args["view"]
        self.views[view_id] = {**(json.loads(raw) if isinstance(raw, str) else raw),
                               "id": view_id}
        return {"ok": True, "view": self.views[view_id]}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = str(args.get("view_id") or "")
        if view_id not in self.views:
            return {"ok": False, "error": "not_found"}
        if (refused := self._view_problems("views.update", args.get("view"))) is not None:
            return refused
        raw = args["view"]
        self.views[view_id] = {**(json.loads(raw) if isinstance(raw, str) else raw),
                               "id": view_id}
        return {"ok": True, "view": self.views[view_id]}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        if (refused := self._view_problems("views.publish", args.get("view"))) is not None:
            return refused
        raw = args["view"]
        self.home[str(args.get("user_id"))] = json.loads(raw) if isinstance(raw, str) else raw
        return {"ok": True}


@contextmanager
def running_emulator() -> Iterator[SlackEmulator]:
    emulator = SlackEmulator().start()
    try:
        yield emulator
    finally:
        emulator.stop()
