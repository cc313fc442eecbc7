"""Slack inside `segbot serve`: POST /slack/events (HTTP mode) or Socket Mode, and the flows,
containment, scheduler and catch-up poller started and stopped with the web server."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

from fastapi import FastAPI, Request, Response
from slack_bolt import App, BoltRequest
from slack_sdk.signature import SignatureVerifier
from starlette.concurrency import run_in_threadpool

from bot.adapters.slack.settings import SlackEnv
from bot.app.ports.containment import ContainmentActions
from bot.app.slack_flows import SlackFlows
from bot.app.slash_requests import SlashIntake

log = logging.getLogger("segbot.slack")
MAX_BODY = 1 << 20


class Background(Protocol):
    """Something that runs beside the server (the scheduler)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


class SlackRuntime:
    def __init__(self, *, flows: SlackFlows, bolt: App, env: SlackEnv,
                 actions: ContainmentActions, scheduler: Background,
                 poll_seconds: float, intake: SlashIntake | None = None) -> None:
        self.flows, self.bolt, self.env, self.actions = flows, bolt, env, actions
        self.intake = intake  # stored /segfault requests, taken over from dead replicas
        self.scheduler, self.poll_seconds = scheduler, poll_seconds
        self.trigger = flows.trigger
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self._socket: Any = None

    def start(self) -> None:
        self.flows.start()
        self.actions.start()  # actions a dead process left executing: outcome unknown
        self.scheduler.start()
        self._stop.clear()
        self._poller = threading.Thread(target=self._poll, name="segbot-slack-poll", daemon=True)
        self._poller.start()
        if self.env.socket_mode:
            threading.Thread(target=self._connect_socket, name="segbot-slack-socket",
                             daemon=True).start()
        log.info("Slack: %s", "Socket Mode" if self.env.socket_mode else "HTTP /slack/events")

    def _connect_socket(self) -> None:
        """Connect in the background: serve takes alerts while Slack is unreachable."""
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        delay = 1.0
        while not self._stop.is_set():
            handler: Any = SocketModeHandler(self.bolt, self.env.app_token)
            try:
                handler.connect()
            except Exception as error:
                log.warning("Socket Mode not connected (%s); retrying in %.0fs", error, delay)
                self._stop.wait(delay)
                delay = min(60.0, delay * 2)
                continue
            self._socket = handler
            if self._stop.is_set():
                handler.close()
            return

    def stop(self) -> None:
        self._stop.set()
        if self._socket is not None:
            self._socket.close()
        self.scheduler.stop()
        self.flows.stop()
        self.actions.stop()
        if self.intake is not None:
            self.intake.stop()
        if self._poller is not None:
            self._poller.join(5)

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.flows.poll()
            except Exception as error:  # the store or Slack is down: try again next round
                log.warning("Slack catch-up failed: %s", error)
            try:
                if self.intake is not None:
                    self.intake.take_over()
            except Exception as error:  # as above: the next round looks again
                log.warning("/segfault takeover failed: %s", error)

    def _signed(self, body: bytes, headers: Mapping[str, str]) -> bool:
        """Slack's signature and 5-minute timestamp window, checked before Bolt sees the body
        (Bolt's own check logs a refused body whole)."""
        if self.env.signing_secret is None:
            _refused(body, "no signing secret")
            return False
        verifier = SignatureVerifier(self.env.signing_secret)
        try:
            if verifier.is_valid(body, headers.get("x-slack-request-timestamp", ""),
                                 headers.get("x-slack-signature", "")):
                return True
        except (UnicodeDecodeError, ValueError):
            pass  # not UTF-8, or a timestamp that is not a number: not from Slack
        _refused(body, "bad signature or timestamp")
        return False

    def mount(self, app: FastAPI) -> None:
        """POST /slack/events (HTTP mode), and start/stop with the web server's lifespan."""
        if not self.env.socket_mode:
            app.add_api_route("/slack/events", self._events, methods=["POST"],
                              include_in_schema=False)
        inner: Callable[[Any], AbstractAsyncContextManager[Any]] = app.router.lifespan_context

        @asynccontextmanager
        async def lifespan(application: Any) -> AsyncIterator[Any]:
            async with inner(application) as state:
                self.start()
                try:
                    yield state
                finally:
                    self.stop()

        app.router.lifespan_context = lifespan

    async def _events(self, request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY:
            return Response("payload too large", status_code=413)
        if not self._signed(body, request.headers):
            return Response('{"error": "invalid request"}', status_code=401,
                            media_type="application/json")
        bolt_request = BoltRequest(body=body.decode("utf-8", "replace"),
                                   query=dict(request.query_params),
                                   headers={k: v for k, v in request.headers.items()})
        # dispatch blocks until the listener acks (it does so first): keep it off the loop
        answer = await run_in_threadpool(self.bolt.dispatch, bolt_request)
        return Response(content=answer.body, status_code=answer.status,
                        headers=answer.first_headers_without_set_cookie())


def _refused(body: bytes, why: str) -> None:
    """A refused request is logged by its size and digest, never its content."""
    log.warning("Slack request refused (%s): %d bytes, sha256 %s", why, len(body),
                hashlib.sha256(body).hexdigest()[:16])


class SlackCheck:
    """Whether Slack answers `auth.test`, asked at most once a minute (health probes are
    frequent; Slack's rate limits are not generous)."""

    def __init__(self, client: Any, *, every: float = 60.0) -> None:
        self.client, self.every = client, every
        self._state, self._at = "unknown", float("-inf")
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            if time.monotonic() - self._at >= self.every:
                try:
                    self.client.auth_test()
                    self._state = "ok"
                except Exception as error:  # any failure means "unreachable" for a probe
                    self._state = f"unreachable: {type(error).__name__}"
                self._at = time.monotonic()
            return self._state
