"""Containment inside `segbot serve`: the use case with its store, executor and channel, the
start-up recovery of actions a dead process left executing, and the verification trigger."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from sqlalchemy import Engine

from bot.adapters.actions.executor import ConfiguredExecutor
from bot.adapters.actions.ssh_actions import Connect
from bot.adapters.store.action_store import SqlActionStore
from bot.app.actions import Containment, VerifyTrigger
from bot.app.diagnose import CommandRunner
from bot.app.diagnosis_feed import DiagnosisSetup
from bot.app.ports import Store
from bot.app.slack_ports import Place, SlackStore
from bot.config import Config

log = logging.getLogger("segbot.actions")


class ServedContainment(Containment):
    """Containment plus its lifecycle: recover on start, verify in the background."""

    trigger: VerifyTrigger | None = None

    def start(self, verify_interval: float = 5.0, *, own_trigger: bool = True) -> None:
        """Recover; then verify on our own trigger unless a scheduler runs verify_due."""
        told = self.recover()
        if told:
            log.warning("%d action(s) left executing by a previous run: outcome unknown", told)
        if own_trigger:
            self.trigger = VerifyTrigger(self, interval=verify_interval)
            self.trigger.start()

    def stop(self) -> None:
        if self.trigger is not None:
            self.trigger.stop()
        self._pool.shutdown(wait=False, cancel_futures=True)


def containment(*, config: Config, engine: Engine, store: Store, slack_store: SlackStore,
                say: Callable[[Place, str], object], environ: Mapping[str, str],
                diagnosis: DiagnosisSetup | None, connect: Connect | None = None,
                clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                ) -> ServedContainment:
    def announce(incident_id: int, text: str) -> None:
        place = slack_store.place(incident_id)
        if place is not None:
            say(place, text)

    if connect is None:
        connect = diagnosis.connect if diagnosis is not None else _no_ssh
    executor = ConfiguredExecutor(config, environ=environ, connect=connect, diagnosis=diagnosis)
    return ServedContainment(actions=SqlActionStore(engine), store=store, executor=executor,
                             announce=announce, clock=clock)


def _no_ssh(host: str) -> CommandRunner:
    from bot.errors import ConfigError

    raise ConfigError(f"no SSH set up to reach {host}")
