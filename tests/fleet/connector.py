"""A segbot SSH connector for the simulated fleet, built as `segbot diagnose` builds one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bot.adapters.ssh import SshRunner
from bot.config import Config, load_config


def connector(config_path: Path) -> tuple[Config, Callable[[str], SshRunner]]:
    """The config and the connect function of `segbot diagnose` (eager connect, pinned keys)."""
    cfg = load_config(config_path)
    d = cfg.defaults

    def connect(host: str) -> SshRunner:
        runner = SshRunner(cfg.target(host), connect_timeout=d.connect_timeout,
                           keepalive=d.keepalive, max_sessions=d.max_sessions,
                           max_output_bytes=d.max_output_bytes)
        runner.connect()
        return runner

    return cfg, connect
