"""A segbot SSH connector for the simulated fleet, the one `segbot diagnose` builds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bot.adapters.ssh import SshRunner
from bot.config import Config, load_config
from bot.wiring.ssh import ssh_connector


def connector(config_path: Path) -> tuple[Config, Callable[[str], SshRunner]]:
    """The config and the connect function of `segbot diagnose` (eager connect, pinned keys)."""
    cfg = load_config(config_path)
    return cfg, ssh_connector(cfg)
