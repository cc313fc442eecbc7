"""Diagnosis over SSH, built from the config (for `diagnose`, `check-config --ssh`, `serve`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.adapters.ssh import SshRunner
    from bot.app.diagnose import Inventory, Limits
    from bot.app.diagnosis_feed import DiagnosisSetup
    from bot.config import Config
    from bot.domain.playbook import Playbook


def ssh_connector(config: Config) -> Callable[[str], SshRunner]:
    """Connect to an inventory host with its pinned key; a bad key or dead host raises here,
    before any step starts."""
    from bot.adapters.ssh import SshRunner

    d = config.defaults

    def connect(host: str) -> SshRunner:
        runner = SshRunner(config.target(host), connect_timeout=d.connect_timeout,
                           keepalive=d.keepalive, max_sessions=d.max_sessions,
                           max_output_bytes=d.max_output_bytes)
        runner.connect()
        return runner

    return connect


def ssh_probe(config: Config, host: str) -> None:
    """Log in to `host` and out again (check-config --ssh); raises SegbotError."""
    from bot.adapters.ssh import SshRunner

    runner = SshRunner(config.target(host), connect_timeout=config.defaults.connect_timeout)
    try:
        runner.connect()
    finally:
        runner.close()


def inventory(config: Config, host: str, service: str) -> Inventory:
    from bot.app.diagnose import Inventory

    entry, target = config.services[service], config.target(host)
    return Inventory(host=host, service=service, unit=entry.unit, binary=entry.binary,
                     user=target.user, sudo=target.sudo, core_dir=config.defaults.core_dir)


def limits(config: Config) -> Limits:
    from bot.app.diagnose import Limits

    d = config.defaults
    return Limits(run_timeout=d.run_timeout, max_parallel_steps=d.max_sessions,
                  max_artifact_bytes=d.max_artifact_bytes, max_hosts=d.max_hosts,
                  keep_host_cores=d.keep_host_cores)


def ssh_diagnosis(config: Config, playbook: Playbook | None = None) -> DiagnosisSetup:
    """Diagnose over SSH with the config's inventory and playbook (as `segbot diagnose`)."""
    from bot.adapters.metrics import observe_steps
    from bot.app.diagnosis_feed import DiagnosisSetup
    from bot.config import load_playbook_file

    return DiagnosisSetup(
        connect=ssh_connector(config),
        inventory=lambda host, service: inventory(config, host, service),
        playbook=playbook or load_playbook_file(None, config),
        evidence_dir=Path(config.defaults.evidence_dir), limits=limits(config),
        observe=lambda diagnosis: observe_steps(
            (s.step, s.status, s.duration) for s in diagnosis.steps))
