"""`segbot check-config [--config FILE] [--playbook FILE]`: validate the config and playbook."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def command(
    config: Annotated[Path | None, typer.Option(
        "--config", help="Config file (default: $SEGBOT_CONFIG).")] = None,
    playbook: Annotated[Path | None, typer.Option("--playbook", help="Playbook YAML.")] = None,
) -> None:
    """Check the config file and the playbook; exit 2 with the reason when either is bad."""
    from bot.config import load_config, load_playbook_file
    from bot.errors import ConfigError

    cfg = load_config(config)
    book = load_playbook_file(playbook, cfg)
    problems = [f"service {name!r} selects no host" for name in cfg.services
                if not cfg.service_hosts(name)]
    if problems:
        raise ConfigError("; ".join(problems))
    warnings: list[str] = []
    for name in cfg.hosts:
        target = cfg.target(name)
        for label, path in (("identity_file", target.identity_file),
                            ("known_hosts", target.known_hosts)):
            if not path.is_file():
                warnings.append(f"host {name}: {label} {path} does not exist here")
    for warning in dict.fromkeys(warnings):
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(f"ok: {len(cfg.hosts)} hosts, {len(cfg.services)} services, "
               f"playbook {book.name!r} with {len(book.steps)} steps")
