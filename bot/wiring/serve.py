"""`segbot serve`: Slack (flows, listeners, containment, scheduler) and the web server (alert
and change intake, /healthz, /metrics), on one store."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.wiring.local import open_store
from bot.wiring.ssh import ssh_diagnosis

if TYPE_CHECKING:
    from bot.adapters.slack.runtime import SlackRuntime
    from bot.adapters.ssh import SshRunner
    from bot.adapters.store import SqlStore
    from bot.adapters.web.app import WebApp
    from bot.app.change_context import ChangeContext
    from bot.app.containment import Containment
    from bot.app.diagnosis_feed import DiagnosisSetup
    from bot.app.ports.containment import ContainmentActions
    from bot.app.ports.slack import Place, SlackStore
    from bot.app.ports.store import DiagnosisTrigger
    from bot.config import Config
    from bot.domain.incident import DiagnosisRequest

SLACK_SECRETS = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET")
log = logging.getLogger("segbot.serve")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def change_context(*, config: Config, store: SqlStore,
                   environ: Mapping[str, str] = os.environ) -> ChangeContext:
    """Change findings: the change store, each service's git repository and flag service."""
    from datetime import timedelta

    from bot.adapters.flag_service import HttpFlagService
    from bot.adapters.git_history import GitRepository
    from bot.adapters.store.change_store import SqlChangeStore
    from bot.app.change_context import ChangeContext
    from bot.app.changes import ServiceSources

    sources = {
        name: ServiceSources(
            binary=service.binary, repo=service.changes.repo,
            flags=HttpFlagService(service.changes.flag_service, environ)
            if service.changes.flag_service else None,
            watched_flags=tuple(service.changes.flags))
        for name, service in config.services.items()}

    def lookback(service: str) -> timedelta:
        entry = config.services.get(service)
        return timedelta(hours=entry.changes.lookback_hours if entry else 24.0)

    git = GitRepository() if any(s.repo for s in sources.values()) else None
    return ChangeContext(store=store, changes=SqlChangeStore(store.engine), git=git,
                         sources=sources, lookback=lookback)


def containment(*, config: Config, store: SqlStore, slack_store: SlackStore,
                say: Callable[[Place, str], object], environ: Mapping[str, str],
                diagnosis: DiagnosisSetup | None,
                clock: Callable[[], datetime] | None = None) -> Containment:
    """The containment use case with its action store, executor and channel."""
    from bot.adapters.containment.executor import ConfiguredExecutor
    from bot.adapters.store.action_store import SqlActionStore
    from bot.app.containment import Containment
    from bot.errors import ConfigError

    def announce(incident_id: int, text: str) -> None:
        place = slack_store.place(incident_id)
        if place is not None:
            say(place, text)

    def no_ssh(host: str) -> SshRunner:
        raise ConfigError(f"no SSH set up to reach {host}")

    connect = diagnosis.connect if diagnosis is not None else no_ssh
    executor = ConfiguredExecutor(config, environ=environ, connect=connect, diagnosis=diagnosis)
    return Containment(actions=SqlActionStore(store.engine), store=store, executor=executor,
                       announce=announce, clock=clock or _utcnow)


def slack_runtime(*, config: Config, store: SqlStore, environ: Mapping[str, str] = os.environ,
                  actions: ContainmentActions | None = None,
                  diagnosis: DiagnosisSetup | None = None) -> SlackRuntime | None:
    """The Slack side of serve, or None when SLACK_BOT_TOKEN is unset."""
    from bot.adapters.leader_lock import leadership_for
    from bot.adapters.scheduler import ScheduleDeps, SegbotScheduler
    from bot.adapters.slack.bolt_app import create_bolt_app
    from bot.adapters.slack.client import web_client
    from bot.adapters.slack.reply import stored_reply
    from bot.adapters.slack.runtime import SlackRuntime
    from bot.adapters.slack.schedule_chat import SlackAnnouncer
    from bot.adapters.slack.settings import slack_env
    from bot.adapters.slack.web_chat import ChatSettings, SlackChat
    from bot.adapters.store.schedule_store import SqlScheduleStore
    from bot.adapters.store.slack_store import SqlSlackStore
    from bot.adapters.store.slash_store import SqlSlashRequests
    from bot.app.clicks import Clicks
    from bot.app.containment import Containment
    from bot.app.slack_entry import SlackEntry
    from bot.app.slack_flows import SlackFlows
    from bot.app.slack_policy import SlackPolicy
    from bot.app.slash_commands import SlashCommands
    from bot.app.slash_requests import SlashIntake
    from bot.wiring.replicas import replica_for

    env = slack_env(environ)
    if env is None:
        return None
    if environ is os.environ:
        # The secrets live in `env` from here on: commands segbot starts (ssh, actions, git)
        # do not inherit them, and Bolt, handed the client, finds no second token to ignore.
        environ = dict(os.environ)
        for name in SLACK_SECRETS:
            os.environ.pop(name, None)
    engine, options = store.engine, config.slack
    client = web_client(env.bot_token, api_url=env.api_url)
    chat = SlackChat(client, ChatSettings(channel_prefix=options.incident_channel_prefix,
                                          oncall_usergroup=options.oncall_usergroup,
                                          shared_channel=options.channel,
                                          private_channels=options.private_channels))
    policy = SlackPolicy(
        services={name: tuple(config.service_hosts(name)) for name in config.services},
        authorization={k: tuple(v) for k, v in config.authorization.items()},
        oncall_usergroup=options.oncall_usergroup, proposal_ttl=options.proposal_ttl,
        min_update_interval=options.report_min_interval_seconds,
        global_update_interval=options.report_global_interval_seconds)
    slack_store, schedule = SqlSlackStore(engine), SqlScheduleStore(engine)
    announcer = SlackAnnouncer(client)
    diagnosis = diagnosis or ssh_diagnosis(config)
    if actions is None:
        actions = containment(config=config, store=store,
                              slack_store=slack_store, say=chat.say, environ=environ,
                              diagnosis=diagnosis)
    changes = change_context(config=config, store=store, environ=environ)
    replica = replica_for(engine, environ)  # claims shared with the other replicas
    if isinstance(actions, Containment):
        actions.replica = replica
    flows = SlackFlows(store=store, slack_store=slack_store, chat=chat, announcer=announcer,
                       schedule=schedule, actions=actions, policy=policy, diagnosis=diagnosis,
                       changes=changes, clock=_utcnow, max_diagnoses=config.defaults.max_hosts,
                       replica=replica)

    def clock() -> datetime:  # the Slack side reads one clock: the flows'
        return flows.clock()

    slash = SlashCommands(flows=flows, store=store, slack_store=slack_store, chat=chat,
                          announcer=announcer, schedule=schedule, policy=policy,
                          clock=clock)
    intake = SlashIntake(commands=slash, requests=SqlSlashRequests(engine), replica=replica,
                         reply_to=stored_reply(chat), clock=clock)
    ways_in = SlackEntry(commands=slash, store=store, slack_store=slack_store, chat=chat,
                         policy=policy, clock=clock)
    clicks = Clicks(flows=flows, store=store, slack_store=slack_store, chat=chat,
                    actions=actions, policy=policy, clock=clock)
    bolt = create_bolt_app(client=client, clicks=clicks, slash=slash, ways_in=ways_in, chat=chat,
                           signing_secret=env.signing_secret, socket_mode=env.socket_mode,
                           command=options.command, store=store, slack_store=slack_store,
                           schedule=schedule, announcer=announcer, clock=clock,
                           intake=intake)
    scheduler = SegbotScheduler(
        deps=ScheduleDeps(store=store, schedule=schedule, slack=slack_store,
                          announcer=announcer, clock=_utcnow, verify=actions.verify_due,
                          history=changes.history, replica=replica),
        options=config.schedule, leadership=leadership_for(engine))
    return SlackRuntime(flows=flows, bolt=bolt, env=env, actions=actions, scheduler=scheduler,
                        poll_seconds=options.poll_seconds, intake=intake)


class LoggingTrigger:
    """Without Slack nothing diagnoses: record that a diagnosis was asked for."""

    def __call__(self, request: DiagnosisRequest) -> None:
        log.info("diagnosis requested: incident %s host %s service %s",
                 request.incident_id, request.host, request.service)


def web_app(*, config: Config, store: SqlStore, environ: Mapping[str, str] = os.environ,
            trigger: DiagnosisTrigger | None = None,
            slack_check: Callable[[], str] | None = None) -> WebApp:
    """The HTTP server: alert intake, change routes, /healthz, /metrics."""
    from bot.adapters.store.change_store import SqlChangeStore
    from bot.adapters.web.app import WebSettings, create_app
    from bot.adapters.web.changes_routes import change_settings, mount_changes
    from bot.adapters.web.intake import Intake
    from bot.adapters.web.metrics import intake_metrics
    from bot.errors import SegbotError

    alerts = config.alerts
    metrics = intake_metrics()
    intake = Intake(store=store, database_url=store.engine.url.render_as_string(
                        hide_password=False),
                    trigger=trigger or LoggingTrigger(), metrics=metrics,
                    window_seconds=alerts.window.total_seconds())
    settings = WebSettings(
        alert_token=environ.get("SEGBOT_ALERT_TOKEN") or None,
        grafana_hmac_secret=environ.get("SEGBOT_GRAFANA_HMAC_SECRET") or None,
        max_body_bytes=alerts.max_body_bytes, label_rules=alerts.label_rules,
        bench_baseline=environ.get("SEGBOT_BENCH_BASELINE") == "1",
        openapi=alerts.openapi, hmac_max_age_seconds=alerts.hmac_max_age_seconds,
        services=frozenset(config.services))

    def health() -> dict[str, str]:
        try:
            store.list_incidents(limit=1)
            state = "ok"
        except SegbotError as error:
            # The reason (host, user, driver text) goes to the log, never to the probe.
            log.warning("health check: the store is down: %s", error)
            state = "down"
        return {"store": state, "slack": slack_check() if slack_check else "not configured"}

    app = create_app(intake=intake, metrics=metrics, settings=settings, health=health)
    mount_changes(app, store=SqlChangeStore(store.engine),
                  settings=change_settings(config, environ),
                  max_body_bytes=alerts.max_body_bytes)
    return app


def serve(*, config: Config, host: str, port: int) -> None:
    """Run the bot until interrupted: HTTP, Slack when configured, the scheduler."""
    from bot.adapters.logs import configure_logging
    from bot.adapters.slack.runtime import SlackCheck
    from bot.adapters.store.sole_replica import hold_sqlite
    from bot.adapters.web.server import run

    configure_logging()
    store = open_store()
    sole = hold_sqlite(store.engine)  # a second replica on SQLite refuses here
    slack = slack_runtime(config=config, store=store)  # None: no Slack
    app = web_app(config=config, store=store, trigger=slack.trigger if slack else None,
                  slack_check=SlackCheck(slack.bolt.client) if slack else None)
    if slack is not None:
        slack.mount(app)  # POST /slack/events (or Socket Mode), started with the app
    try:
        run(app, host=host, port=port)
    finally:
        sole.release()
