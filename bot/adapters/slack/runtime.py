"""Slack inside `segbot serve`: builds the flows and the Bolt app from config and environment,
mounts POST /slack/events (HTTP mode) or connects Socket Mode, and runs the report updater and
the catch-up poller for as long as the web server runs."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from pydantic import ValidationError
from slack_bolt import App, BoltRequest
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from bot.adapters.changes_wiring import change_context
from bot.adapters.replica_wiring import replica_for
from bot.adapters.scheduler import ScheduleDeps, SegbotScheduler, leadership_for
from bot.adapters.slack.bolt_app import create_bolt_app
from bot.adapters.slack.client import web_client
from bot.adapters.slack.schedule_chat import SlackAnnouncer
from bot.adapters.slack.settings import SlackEnv, SlackOptions, slack_env, slack_options
from bot.adapters.slack.web_chat import ChatSettings, SlackChat
from bot.adapters.store.schedule_store import SqlScheduleStore
from bot.adapters.store.slack_store import SqlSlackStore
from bot.adapters.web.body_limit import BODY
from bot.app.diagnosis_feed import DiagnosisSetup
from bot.app.ports import Store
from bot.app.slack_flows import SlackFlows, SlackPolicy
from bot.app.slack_ports import ContainmentActions, NoActions
from bot.config import Config
from bot.errors import ConfigError

log = logging.getLogger("segbot.slack")
MAX_BODY = 1 << 20


class SlackRuntime:
    def __init__(self, *, flows: SlackFlows, bolt: App, env: SlackEnv,
                 options: SlackOptions) -> None:
        self.flows, self.bolt, self.env, self.options = flows, bolt, env, options
        self.trigger = flows.trigger
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self._socket: Any = None
        self.scheduler: SegbotScheduler | None = None

    def start(self) -> None:
        self.flows.start()
        starter = getattr(self.flows.actions, "start", None)
        if starter is not None:  # containment: recover unfinished actions, verify later
            starter(self.options.poll_interval, own_trigger=self.scheduler is None)
        if self.scheduler is not None:
            self.scheduler.start()
        self._stop.clear()
        self._poller = threading.Thread(target=self._poll, name="segbot-slack-poll", daemon=True)
        self._poller.start()
        if self.env.socket_mode:
            threading.Thread(target=self._connect_socket, name="segbot-slack-socket",
                             daemon=True).start()
        log.info("Slack: %s", "Socket Mode" if self.env.socket_mode else "HTTP /slack/events")

    def _connect_socket(self) -> None:
        """Socket Mode, connected in the background: serve starts (and takes alerts) while
        Slack is unreachable, and keeps trying; once connected, the SDK reconnects itself."""
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
        if self.scheduler is not None:
            self.scheduler.stop()
        self.flows.stop()
        stopper = getattr(self.flows.actions, "stop", None)
        if stopper is not None:
            stopper()
        if self._poller is not None:
            self._poller.join(5)

    def _poll(self) -> None:
        while not self._stop.wait(self.options.poll_interval):
            try:
                self.flows.poll()
            except Exception as error:  # the store or Slack is down: try again next round
                log.warning("Slack catch-up failed: %s", error)

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
        # The web app's BodyLimit has already refused a body over its limit, unread.
        body = request.scope.get(BODY)
        if body is None:
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


SLACK_SECRETS = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET")


def slack_runtime(*, store: Store, engine: Engine, config: Mapping[str, Any],
                  environ: Mapping[str, str] = os.environ,
                  actions: ContainmentActions | None = None,
                  diagnosis: DiagnosisSetup | None = None) -> SlackRuntime | None:
    """The Slack side of serve, or None when SLACK_BOT_TOKEN is unset."""
    env = slack_env(environ)
    if env is None:
        return None
    if environ is os.environ:
        # The secrets live in `env` from here on: commands segbot starts (ssh, actions, git)
        # do not inherit them, and Bolt, handed the client, finds no second token to ignore.
        environ = dict(os.environ)
        for name in SLACK_SECRETS:
            os.environ.pop(name, None)
    options = slack_options(config)
    checked = _config(config)
    client = web_client(env.bot_token, api_url=env.api_url)
    chat = SlackChat(client, ChatSettings(channel_prefix=options.channel_prefix,
                                          oncall_usergroup=options.oncall_usergroup,
                                          shared_channel=options.shared_channel,
                                          private_channels=options.private_channels))
    policy = SlackPolicy(
        services={name: tuple(checked.service_hosts(name)) for name in checked.services},
        authorization={k: tuple(v) for k, v in checked.authorization.items()},
        oncall_usergroup=options.oncall_usergroup, proposal_ttl=options.proposal_ttl,
        min_update_interval=options.min_update_interval,
        global_update_interval=options.global_update_interval)
    slack_store = SqlSlackStore(engine)
    diagnosis = diagnosis or ssh_diagnosis(checked)
    if actions is None:
        from bot.adapters.actions.wiring import containment

        actions = containment(config=checked, engine=engine, store=store,
                              slack_store=slack_store, say=chat.say, environ=environ,
                              diagnosis=diagnosis)
    flows = SlackFlows(store=store, slack_store=slack_store, chat=chat,
                       actions=actions or NoActions(), policy=policy,
                       diagnosis=diagnosis,
                       max_diagnoses=checked.defaults.max_hosts)
    flows.replica = replica_for(engine, environ)  # claims shared with the other replicas
    if hasattr(flows.actions, "unit_state"):  # the report re-reads what an action changed
        flows.actions.unit_state = flows.unit_state
    schedule = SqlScheduleStore(engine)
    flows.announcer, flows.schedule = SlackAnnouncer(client), schedule
    flows.changes = change_context(config=checked, engine=engine, store=store, environ=environ)
    bolt = create_bolt_app(client=client, flows=flows, chat=chat,
                           signing_secret=env.signing_secret,
                           socket_mode=env.socket_mode, command=options.command,
                           schedule=schedule)
    runtime = SlackRuntime(flows=flows, bolt=bolt, env=env, options=options)
    runtime.scheduler = SegbotScheduler(
        deps=ScheduleDeps(store=store, schedule=schedule, slack=flows.slack_store,
                          announcer=flows.announcer, clock=flows.clock,
                          verify=getattr(flows.actions, "verify_due", None),
                          history=flows.changes.history if flows.changes else None,
                          replica=flows.replica),
        options=checked.schedule, leadership=leadership_for(engine))
    return runtime


def _config(config: Mapping[str, Any]) -> Config:
    try:
        return Config.model_validate(dict(config))
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                             for e in error.errors(include_url=False))
        raise ConfigError(f"config: {problems}") from None


def ssh_diagnosis(config: Config) -> DiagnosisSetup:
    """Diagnose over SSH with the config's inventory and playbook (as `segbot diagnose`)."""
    from bot.adapters.metrics import observe_steps
    from bot.adapters.ssh import SshRunner
    from bot.app.diagnose import Inventory, Limits
    from bot.config import load_playbook_file

    d = config.defaults

    def connect(host: str) -> SshRunner:
        runner = SshRunner(config.target(host), connect_timeout=d.connect_timeout,
                           keepalive=d.keepalive, max_sessions=d.max_sessions,
                           max_output_bytes=d.max_output_bytes)
        runner.connect()
        return runner

    def inventory(host: str, service: str) -> Inventory:
        entry, target = config.services[service], config.target(host)
        return Inventory(host=host, service=service, unit=entry.unit, binary=entry.binary,
                         user=target.user, sudo=target.sudo, core_dir=d.core_dir)

    return DiagnosisSetup(
        connect=connect, inventory=inventory, playbook=load_playbook_file(None, config),
        evidence_dir=Path(d.evidence_dir),
        limits=Limits(run_timeout=d.run_timeout, max_parallel_steps=d.max_sessions,
                      max_artifact_bytes=d.max_artifact_bytes, max_hosts=d.max_hosts,
                      keep_host_cores=d.keep_host_cores),
        observe=lambda diagnosis: observe_steps(
            (s.step, s.status, s.duration) for s in diagnosis.steps))
